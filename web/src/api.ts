// The HTTP API of ptyhub (spec section 3). Same-origin requests carry the
// HttpOnly cookie set by the server, so this code never sees the token.

export type Status = 'starting' | 'active' | 'idle' | 'exited' | 'terminated' | 'error';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  reason: string;
}

export interface Resources {
  rss_bytes: number;
  cpu_seconds: number;
  cpu_percent: number;
  threads: number;
  processes: number;
}

export interface Session {
  id: string;
  name: string;
  labels: Record<string, string>;
  provider: string;
  command: string[];
  cwd: string;
  pid: number | null;
  status: Status;
  exit: ExitInfo | null;
  created_at: string;
  last_input_at: string | null;
  last_output_at: string | null;
  cols: number;
  rows: number;
  resize_policy: string;
  clients: number;
  title: string;
  resources: Resources | null;
  agent?: AgentInfo;
}

export type AgentState = 'busy' | 'waiting' | 'ready' | 'unknown';

/** Busy, waiting or ready, and why (`detail` is text, never HTML). */
export interface AgentInfo {
  state: AgentState;
  since: string | null;
  source: 'hook' | 'notification' | 'title' | 'screen' | 'quiet' | null;
  detail: string | null;
  notifications: number;
}

export interface Provider {
  name: string;
  command: string;
  args: string[];
  available: boolean;
  version?: string | null;
}

export interface CreateRequest {
  provider: string;
  name?: string;
  cwd?: string;
  cols?: number;
  rows?: number;
}

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
    resp = await fetch(path, {
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
};

export function isEnded(s: Pick<Session, 'status'>): boolean {
  return s.status === 'exited' || s.status === 'terminated' || s.status === 'error';
}
