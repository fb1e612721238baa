import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, settings } from './config.ts';
import { createDatabase } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import { progressPrinter, seedDemoData } from './db/seed.ts';

const HELP = `ticketrush: a backend for high-demand ticket sales

Usage: ticketrush <command> [options]

Commands:
  serve                 Start the API (migrates and fills demo data on the embedded default)
  migrate               Bring the database schema up to date (TR_DB)
  seed                  Fill demo data: users, concerts, schedules; safe to run twice
  loadtest [options]    Replay the seed's load scenarios (ticketrush loadtest --help)
  report <result.json>  Re-render a load-test result as console table and HTML
  compare <a> <b>       Per-endpoint differences between two load-test results
  admin <subcommand>    Operator keys: create-key --name N, revoke-key --name N|--id ID, list-keys
  verify-draw <source>  Check a sale's published draw (a URL or a saved JSON file) against its commitment

Settings (environment variables):
${settings.map((s) => `  ${s.name.padEnd(36)} ${s.description}${s.fallback === '' ? '' : ` (default ${s.fallback})`}`).join('\n')}
`;

async function migrate(): Promise<number> {
  const config = loadConfig();
  const database = createDatabase(config.db, config.dbPool);
  try {
    const applied = await migrateToLatest(database);
    console.log(applied.length ? `migrated: ${applied.join(', ')}` : 'schema already up to date');
    return 0;
  } finally {
    await database.close();
  }
}

async function seed(): Promise<number> {
  const config = loadConfig();
  const database = createDatabase(config.db, config.dbPool);
  try {
    await migrateToLatest(database);
    const started = Date.now();
    const inserted = await seedDemoData(database.db, config.demo, progressPrinter());
    const summary = Object.entries(inserted)
      .map(([t, n]) => `${t} +${n}`)
      .join(', ');
    console.log(`seeded ${database.describe} in ${((Date.now() - started) / 1000).toFixed(1)} s: ${summary}`);
    return 0;
  } finally {
    await database.close();
  }
}

async function serve(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { workers: { type: 'string' } },
    allowPositionals: false,
  });
  if (values.workers !== undefined) process.env.TR_WORKERS = values.workers;
  const { serveCommand } = await import('./serve.ts');
  return serveCommand();
}

async function loadtestFamily(command: string, argv: string[]): Promise<number> {
  const { loadtestCommand, reportCommand, compareCommand } = await import('./loadtest/cli.ts');
  if (command === 'loadtest') return loadtestCommand(argv);
  if (command === 'report') return reportCommand(argv);
  return compareCommand(argv);
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'migrate':
      return migrate();
    case 'seed':
      return seed();
    case 'admin':
      return (await import('./operator-cli.ts')).adminCommand(rest);
    case 'verify-draw':
      return (await import('./verify-draw-cli.ts')).verifyDrawCommand(rest);
    case 'loadtest':
    case 'report':
    case 'compare':
      return loadtestFamily(command, rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      console.log(HELP);
      return 0;
    default:
      console.error(`ticketrush: unknown command ${JSON.stringify(command)}; see ticketrush --help`);
      return 2;
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code !== 0 || process.argv[2] !== 'serve') process.exitCode = code;
    },
    (err: unknown) => {
      // Start-up errors are one line that names the setting at fault.
      const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
      console.error(`ticketrush: ${message}`);
      process.exit(1);
    },
  );
}
