import { ApiClient, BenchUser } from '@bench/support/api-client';
import { SERVER_CORE } from '@bench/support/cores';
import { SwitchboardServer } from '@bench/support/switchboard-server';
import { BaselineServer, startBareWs } from './baseline-processes';
import { ScenarioContext } from './scenario';

/** Switchboard and bare `ws` side by side on the server core, with users and a public room. */
export interface WebSocketSetup {
  server: SwitchboardServer;
  bare: BaselineServer;
  /** The room's owner: the one who sends in the fan-out. */
  owner: BenchUser;
  /** Connections are spread over these users (registering thousands would measure argon2). */
  members: BenchUser[];
  roomId: string;
}

export async function prepareWebSockets(
  context: ScenarioContext,
  memberCount: number,
  inspectPorts?: { server: number; bare: number },
): Promise<WebSocketSetup> {
  const inspectFlag = (port: number | undefined) => (port ? [`--inspect-port=${port}`] : []);
  const server = await SwitchboardServer.start(context.scope, {
    cores: SERVER_CORE,
    profile: context.settings.profile,
    nodeFlags: inspectFlag(inspectPorts?.server),
  });
  const bare = await startBareWs(context.scope, SERVER_CORE, inspectFlag(inspectPorts?.bare));
  const api = new ApiClient(server.url);
  const owner = await api.registerUser();
  const roomId = await api.createRoom(owner, 'bench realtime');
  const members: BenchUser[] = [];
  for (let index = 0; index < memberCount; index++) {
    members.push(await api.registerUser());
  }
  return { server, bare, owner, members, roomId };
}

/** The ws:// URL of an http:// base. */
export function webSocketUrl(baseUrl: string): string {
  return `${baseUrl.replace(/^http/, 'ws')}/ws`;
}
