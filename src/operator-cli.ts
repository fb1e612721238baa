import { parseArgs } from 'node:util';
import { loadConfig } from './config.ts';
import { createDatabase } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import { operatorKeyRepository } from './db/operator-key-repository.ts';
import type { Actor } from './domain/admin/audit.ts';
import { OperatorKeys } from './domain/admin/operator-keys.ts';
import { systemClock } from './domain/clock.ts';

export const ADMIN_HELP = `ticketrush admin: operator keys for the /admin/api routes (TR_DB)

  admin create-key --name <name>         Create a key; prints it once on stdout (only its hash is stored)
  admin revoke-key --name <name> | --id <id>
                                         Revoke a key; requests with it get 403 from then on
  admin list-keys                        Keys with their state, never their secrets
`;

/** Changes made here are audited as the operator `cli`. */
const CLI_ACTOR: Actor = { id: null, name: 'cli' };

export async function adminCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: { name: { type: 'string' }, id: { type: 'string' } },
    allowPositionals: false,
  });
  if (!['create-key', 'revoke-key', 'list-keys'].includes(sub ?? '')) {
    console.error(ADMIN_HELP);
    return 2;
  }
  const config = loadConfig();
  const database = createDatabase(config.db, config.dbPool);
  try {
    await migrateToLatest(database);
    const keys = new OperatorKeys(operatorKeyRepository(database), systemClock);
    if (sub === 'create-key') {
      if (!values.name) return usage('create-key needs --name <name>');
      const { key, secret } = await keys.create(values.name, CLI_ACTOR);
      console.error(`operator key ${key.name} created (id ${key.id}); it is shown only this once:`);
      console.log(secret);
      return 0;
    }
    if (sub === 'revoke-key') {
      if (!values.name === !values.id) return usage('revoke-key needs --name <name> or --id <id>');
      const key = await keys.revoke(values.id ? { id: values.id } : { name: values.name ?? '' }, CLI_ACTOR);
      console.log(`operator key ${key.name} (id ${key.id}) revoked`);
      return 0;
    }
    for (const k of await keys.list()) {
      const state = k.revokedAt === null ? 'active' : `revoked ${new Date(k.revokedAt).toISOString()}`;
      console.log(
        `${k.id}  ${k.name.padEnd(24)} created ${new Date(k.createdAt).toISOString()} by ${k.createdBy}, ${state}`,
      );
    }
    return 0;
  } finally {
    await database.close();
  }
}

function usage(problem: string): number {
  console.error(`ticketrush admin: ${problem}\n\n${ADMIN_HELP}`);
  return 2;
}
