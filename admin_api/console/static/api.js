// The admin API as the console calls it: the token of this browser tab (sessionStorage only,
// never a cookie or localStorage), one error shape, and a sign-out on any 401.

const TOKEN_KEY = 'firstline.console.token';
export const API = '/api/v1';

export class ApiError extends Error {
  constructor(status, message, details = [], body = null) {
    super(message);
    this.status = status;
    this.details = details;
    this.body = body;
  }
}

let onSignedOut = () => {};

export const session = {
  caller: null,
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
};

export function whenSignedOut(handler) { onSignedOut = handler; }

export function signOut(reason) {
  sessionStorage.removeItem(TOKEN_KEY);
  session.caller = null;
  onSignedOut(reason);
}

async function failure(response) {
  let body = null;
  try { body = await response.json(); } catch { /* not JSON */ }
  const error = body && body.error ? body.error : {};
  const details = error.details || (body && Array.isArray(body.detail) ? body.detail : []);
  return new ApiError(response.status, error.message || `${response.status} ${response.statusText}`, details, body);
}

// Whose token this is; 401 for a wrong or revoked one.
export async function whoami(token) {
  const response = await fetch('/console/whoami', { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) throw await failure(response);
  return response.json();
}

export async function signIn(token) {
  const caller = await whoami(token);
  sessionStorage.setItem(TOKEN_KEY, token);
  session.caller = caller;
  return caller;
}

// One API call: {data, etag, status}. A 401 signs the tab out (the token was revoked).
export async function request(method, path, { json, body, headers = {}, as = 'json' } = {}) {
  const token = session.token;
  if (!token) {
    signOut('Sign in to continue.');
    throw new ApiError(401, 'not signed in');
  }
  const sent = { Authorization: `Bearer ${token}`, ...headers };
  let payload = body;
  if (json !== undefined) {
    sent['Content-Type'] = 'application/json';
    payload = JSON.stringify(json);
  }
  const response = await fetch(API + path, { method, headers: sent, body: payload });
  if (response.status === 401) {
    signOut('Your token is no longer valid (revoked or unknown): sign in again.');
    throw await failure(response);
  }
  if (!response.ok) throw await failure(response);
  const etag = response.headers.get('ETag');
  let data = null;
  if (response.status !== 204) data = as === 'blob' ? await response.blob() : await response.json();
  return { data, etag, status: response.status };
}

export const get = async (path) => (await request('GET', path)).data;
export const post = async (path, json) => (await request('POST', path, { json })).data;
export const put = async (path, json) => (await request('PUT', path, { json })).data;
export const del = async (path) => (await request('DELETE', path)).data;

export function query(params) {
  const pairs = Object.entries(params).filter(([, value]) => value !== '' && value !== null && value !== undefined && value !== false);
  return pairs.length ? `?${new URLSearchParams(pairs).toString()}` : '';
}

export function mayEdit() { return ['admin', 'editor'].includes(session.caller?.role); }
export function mayWorkTickets() { return ['admin', 'agent'].includes(session.caller?.role); }
export function isAdmin() { return session.caller?.role === 'admin'; }
