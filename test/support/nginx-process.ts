import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { acceptsConnections, findFreePort } from './network';
import { settlesWithin, sleep } from './wait-until';

const START_TIMEOUT_MS = 10_000;
const SERVER_BLOCK = resolve(__dirname, '..', '..', 'deploy', 'nginx', 'switchboard.conf');
const UPSTREAMS = resolve(__dirname, '..', '..', 'deploy', 'nginx', 'upstreams.conf');

/**
 * deploy/nginx/upstreams.conf as shipped, each upstream's servers replaced by the given ports
 * with the parameters (`max_fails=…`) its first server has there.
 */
function shippedUpstreams(ports: number[]): string {
  return readFileSync(UPSTREAMS, 'utf8').replace(
    /upstream (\w+) \{([^}]*)\}/g,
    (_block, name: string, body: string) => {
      const parameters = /^\s*server \S+ ?([^;]*);/m.exec(body)?.[1] ?? '';
      const rest = body.split('\n').filter((line) => !/^\s*server /.test(line));
      const servers = ports.map((port) => `    server 127.0.0.1:${port} ${parameters};`);
      return `upstream ${name} {\n${servers.join('\n')}\n${rest.join('\n')}}`;
    },
  );
}

/**
 * nginx (Debian's nginx-light) in front of the given instances, with the server block of
 * deploy/nginx/switchboard.conf as shipped; only its listen address is moved to a free port of
 * 127.0.0.1; deploy/nginx/upstreams.conf is used as shipped with its servers replaced by the instances.
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
    writeFileSync(join(directory, 'upstreams.conf'), shippedUpstreams(upstreamPorts));
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
  include ${directory}/upstreams.conf;
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
