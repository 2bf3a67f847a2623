// Which PostgreSQL server the connection in effect reads (segmentLens.connection, or the dbt-postgres profile of the
// model's project), for the Set PostgreSQL Password command to name and to store a password under. Reads settings,
// dbt_project.yml and profiles.yml only: no connection is made.
import { projectOfModel } from '../model/dbtProject';
import { readModelFile } from '../model/modelFile';
import { resolveSettings } from '../settings';
import { Workspace, type EngineAssets, type RunRequest } from '../workspace';
import { planData } from './plan';
import { postgresPasswordKey, postgresUrl } from './postgres';

export interface ConnectionServer {
  /** `user@host:port/database`: what the password is stored under, and how the prompt names the server. */
  key: string;
  url: string;
  /** The setting or profile target that names the server. */
  origin: string;
  /** Where the password in effect comes from now (the stored one is used only when the connection gives none). */
  password: 'connection' | 'stored' | 'none';
}

/** The server the run would read, or undefined when the connection in effect is no PostgreSQL one. */
export async function connectionServer(
  request: RunRequest,
  assets: EngineAssets,
): Promise<ConnectionServer | undefined> {
  const settings = resolveSettings(request.settings);
  if (settings.connection.type !== 'postgres' && settings.connection.type !== 'dbt') return undefined;
  const workspace = new Workspace(request);
  const model = await readModelFile(workspace, settings.model, assets);
  const project = await projectOfModel(model, workspace);
  const server = (await planData(settings.connection, workspace, project, assets)).server;
  if (!server) return undefined;
  return {
    key: postgresPasswordKey(server),
    url: postgresUrl(server),
    origin: server.origin,
    password: server.passwordStored ? 'stored' : server.password !== undefined ? 'connection' : 'none',
  };
}
