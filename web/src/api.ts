// The HTTP API of ptyhub (docs/http-api.md). Same-origin requests carry the
// HttpOnly cookie set by the server, so this code never sees the token.

import { url } from './base';
import type { CreateSessionRequest, ProviderInfo, RecordingEntry, SessionInfo, SessionStatus } from './generated/api';

// The API's types are generated from the server's OpenAPI document
// (src/generated/, `npm run gen-types`); these names are the UI's.
export type { AgentInfo, AgentState, ExitInfo, Resources } from './generated/api';
export type Status = SessionStatus;
export type Session = SessionInfo;
export type Provider = ProviderInfo;
export type CreateRequest = CreateSessionRequest;
export type Recording = RecordingEntry;

export class ApiError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
  get unauthorized(): boolean {
    return this.status === 401;
  }
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  let resp: Response;
  try {
    resp = await fetch(url(path), {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'The ptyhub server cannot be reached.');
  }
  const text = await resp.text().catch(() => '');
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!resp.ok) {
    const err = (data as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const code = typeof err?.code === 'string' ? err.code : `http_${resp.status}`;
    const message = typeof err?.message === 'string' && err.message ? err.message : `The server answered ${resp.status} ${resp.statusText}.`;
    throw new ApiError(resp.status, code, message);
  }
  return data as T;
}

export const api = {
  providers: () => request<{ providers: Provider[] }>('GET', '/api/providers').then((r) => r.providers ?? []),
  sessions: () => request<{ sessions: Session[] }>('GET', '/api/sessions').then((r) => r.sessions ?? []),
  session: (id: string) => request<Session>('GET', `/api/sessions/${encodeURIComponent(id)}`),
  create: (req: CreateRequest) => request<Session>('POST', '/api/sessions', req),
  rename: (id: string, name: string) => request<Session>('PATCH', `/api/sessions/${encodeURIComponent(id)}`, { name }),
  kill: (id: string) => request<Session>('DELETE', `/api/sessions/${encodeURIComponent(id)}`),
  recordings: () => request<{ recordings: Recording[] }>('GET', '/api/recordings').then((r) => r.recordings ?? []),
};

/** A session's recording can be replayed (it is on, or stopped at its size limit). */
export function isReplayable(s: Pick<Session, 'recording'>): boolean {
  return !!s.recording && s.recording.state !== 'failed';
}

export function isEnded(s: Pick<Session, 'status'>): boolean {
  return s.status === 'exited' || s.status === 'terminated' || s.status === 'error';
}
