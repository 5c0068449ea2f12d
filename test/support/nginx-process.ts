import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { acceptsConnections, findFreePort } from './network';
import { settlesWithin, sleep } from './wait-until';

const START_TIMEOUT_MS = 10_000;
const SERVER_BLOCK = resolve(__dirname, '..', '..', 'deploy', 'nginx', 'switchboard.conf');
const UPSTREAMS = resolve(__dirname, '..', '..', 'deploy', 'nginx', 'upstreams.conf');

/** The shipped upstreams' server parameters (`max_fails=… fail_timeout=…`) and pool size. */
function shippedUpstreamSettings(): { serverParameters: string; keepalive: string } {
  const upstreams = readFileSync(UPSTREAMS, 'utf8');
  const serverParameters = /^\s*server \S+ ([^;]*);/m.exec(upstreams)?.[1] ?? '';
  const keepalive = /^\s*keepalive (\d+);/m.exec(upstreams)?.[1];
  if (!keepalive) {
    throw new Error(`No keepalive in ${UPSTREAMS}`);
  }
  return { serverParameters, keepalive };
}

/**
 * nginx (Debian's nginx-light) in front of the given instances, with the server block of
 * deploy/nginx/switchboard.conf as shipped; only its listen address is moved to a free port of
 * 127.0.0.1, and the upstreams list the instances with deploy/nginx/upstreams.conf's parameters.
 */
export class NginxProcess {
  private constructor(
    private readonly child: ChildProcess,
    private readonly directory: string,
    readonly port: number,
  ) {}

  /** What the shipped server block's access log holds so far. */
  accessLog(): string {
    return readFileSync(join(this.directory, 'access.log'), 'utf8');
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(upstreamPorts: number[]): Promise<NginxProcess> {
    const port = await findFreePort();
    const directory = mkdtempSync(join(tmpdir(), 'switchboard-nginx-'));
    mkdirSync(join(directory, 'temp'));
    const { serverParameters, keepalive } = shippedUpstreamSettings();
    const servers = upstreamPorts
      .map((upstream) => `server 127.0.0.1:${upstream} ${serverParameters};`)
      .join(' ');
    const serverBlock = readFileSync(SERVER_BLOCK, 'utf8')
      .replace(/^\s*listen \[::\]:80;\s*$/m, '')
      .replace(/^(\s*)listen 80;/m, `$1listen 127.0.0.1:${port};`)
      // Its format as shipped, into a file of its own (stdout may be a socket nginx cannot open).
      .replace(/^(\s*access_log) \/dev\/stdout /m, `$1 ${join(directory, 'access.log')} `);
    writeFileSync(join(directory, 'switchboard.conf'), serverBlock);
    writeFileSync(
      join(directory, 'nginx.conf'),
      `worker_processes 1;
pid ${directory}/nginx.pid;
error_log ${directory}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${directory}/temp/body;
  proxy_temp_path ${directory}/temp/proxy;
  fastcgi_temp_path ${directory}/temp/fastcgi;
  uwsgi_temp_path ${directory}/temp/uwsgi;
  scgi_temp_path ${directory}/temp/scgi;
  upstream switchboard_http { ${servers} keepalive ${keepalive}; }
  upstream switchboard_ws { least_conn; ${servers} }
  include ${directory}/switchboard.conf;
}
`,
    );
    const child = spawn(
      'nginx',
      ['-p', directory, '-c', join(directory, 'nginx.conf'), '-g', 'daemon off;'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let exited: string | undefined;
    child.once('error', (error) => (exited = error.message));
    child.once('exit', (code, signal) => (exited ??= `exited with ${code ?? signal}`));
    const nginx = new NginxProcess(child, directory, port);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await acceptsConnections(port))) {
      if (exited !== undefined || Date.now() > deadline) {
        await nginx.stop();
        throw new Error(`nginx did not start (${exited ?? 'timed out'}): ${output.trim()}`);
      }
      await sleep(50);
    }
    return nginx;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGQUIT');
      await settlesWithin(exited, 5000);
      this.child.kill('SIGKILL');
    }
    rmSync(this.directory, { recursive: true, force: true });
  }
}
