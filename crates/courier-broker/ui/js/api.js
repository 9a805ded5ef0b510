// The broker's HTTP API, called with the dashboard's session cookie (the
// browser sends it; scripts cannot read it). Every call carries
// X-Courier-Request: 1, which the broker requires of a cookie-only write:
// a page of another site cannot send it.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(`${message} (${code}, HTTP ${status})`);
    this.status = status;
    this.code = code;
  }
}

export async function api(method, path, body) {
  const headers = { 'X-Courier-Request': '1' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let value = null;
  try {
    value = text ? JSON.parse(text) : null;
  } catch {
    value = text;
  }
  if (!response.ok) {
    const error = value && value.error ? value.error : {};
    throw new ApiError(response.status, error.code || `http_${response.status}`,
      error.message || String(text || response.statusText));
  }
  return value;
}

export const get = (path) => api('GET', path);
export const post = (path, body = {}) => api('POST', path, body);
export const put = (path, body) => api('PUT', path, body);
export const del = (path) => api('DELETE', path);

/** A path segment: agent names and ids are URL-safe; channels lose '#'. */
export const seg = (text) => encodeURIComponent(String(text).replace(/^#/, ''));

/** ws://host or wss://host of this page, for WebSockets to the broker. */
export function wsUrl(path) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}${path}`;
}
