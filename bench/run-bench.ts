import { execFileSync } from 'node:child_process';
import { BenchReport, describeMachine, ScenarioProblem } from '@bench/report/bench-report';
import { Figure } from '@bench/report/figure';
import { writeResults } from '@bench/report/results-writer';
import { ALL_SCENARIOS } from '@bench/scenarios/all-scenarios';
import { Scenario, ScenarioContext } from '@bench/scenarios/scenario';
import { probeServices } from '@bench/support/bench-services';
import { LOAD_CORE } from '@bench/support/cores';
import { closeAllScopes, ResourceScope } from '@bench/support/resource-scope';
import { UNREFUSING_LIMITS } from '@bench/support/switchboard-server';
import { requireWrk, wrkVersion } from '@bench/support/wrk';
import { parseBenchOptions } from './bench-options';

/**
 * `npm run bench`: runs the scenarios one after another, each beside its bare baseline, and writes
 * bench/results. Every process, temp dir, database and Redis key a scenario makes is released
 * when it ends, and on Ctrl-C.
 */
/** Set on Ctrl-C / SIGTERM: the signal handler cleans up and exits; main stops and writes nothing. */
let interrupted = false;

/** The exit code, or null when interrupted. */
async function main(): Promise<number | null> {
  const options = parseBenchOptions(process.argv.slice(2));
  if (options.list) {
    ALL_SCENARIOS.forEach((scenario) => log(`${scenario.name}: ${scenario.describe}`));
    return 0;
  }
  const selected = selectScenarios(options.only);
  requireWrk();
  // The runner waits on the load most of the time; on the load core it never takes the server's.
  execFileSync('taskset', ['-pc', LOAD_CORE, String(process.pid)], { stdio: 'ignore' });
  const startedAt = Date.now();
  // Read before the run: the commit that was built, even if the tree changes meanwhile.
  const machine = describeMachine(wrkVersion());
  const services = await probeServices();
  services.unreachable.forEach((service) =>
    log(`${service} is unreachable: its scenarios are skipped`),
  );

  const figures: Figure[] = [];
  const problems: ScenarioProblem[] = [];
  for (const scenario of selected) {
    const missing = (scenario.needs ?? []).filter((service) => !services[service]);
    if (missing.length > 0) {
      problems.push({
        scenario: scenario.name,
        outcome: 'skipped',
        reason: `needs ${missing.join(', ')}: ${services.unreachable.join(', ')} unreachable`,
      });
      continue;
    }
    log(`${scenario.name}: ${scenario.describe}`);
    const scope = new ResourceScope();
    const context: ScenarioContext = { settings: options.settings, services, scope, log };
    try {
      figures.push(...(await scenario.run(context)));
    } catch (error) {
      log(`${scenario.name} failed: ${(error as Error).message}`);
      problems.push({
        scenario: scenario.name,
        outcome: 'failed',
        reason: (error as Error).message,
      });
    } finally {
      await scope.close();
    }
    if (interrupted) {
      return null;
    }
  }

  const report: BenchReport = {
    machine,
    settings: options.settings,
    serverConditions: [
      `server: \`node dist/src/main.js\` with NODE_ENV=production, default LOG_LEVEL (request logs written to a file), fresh DATA_DIR per scenario`,
      `rate limits on but never refusing: ${Object.entries(UNREFUSING_LIMITS)
        .map(([name, value]) => `${name}=${value}`)
        .join(', ')}`,
    ],
    figures,
    problems,
    durationSeconds: (Date.now() - startedAt) / 1000,
  };
  const written = writeResults(
    report,
    options.settings.quick ? 'quick' : options.only.length > 0 ? 'partial' : 'latest',
  );
  log(`wrote ${written.join(' and ')} in ${Math.round(report.durationSeconds)} s`);
  return problems.some((problem) => problem.outcome === 'failed') ? 1 : 0;
}

function selectScenarios(only: readonly string[]): readonly Scenario[] {
  const unknown = only.filter((name) => !ALL_SCENARIOS.some((scenario) => scenario.name === name));
  if (unknown.length > 0) {
    throw new Error(
      `unknown scenario ${unknown.join(', ')}; one of: ${ALL_SCENARIOS.map((s) => s.name).join(', ')}`,
    );
  }
  return only.length === 0
    ? ALL_SCENARIOS
    : ALL_SCENARIOS.filter((scenario) => only.includes(scenario.name));
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Ctrl-C or SIGTERM: stop every process the bench started, remove its dirs and databases. */
function stopOnSignal(signal: NodeJS.Signals): void {
  process.once(signal, () => {
    interrupted = true;
    log(`\n${signal}: stopping the processes the bench started and cleaning up…`);
    void closeAllScopes().finally(() => process.exit(130));
  });
}

stopOnSignal('SIGINT');
stopOnSignal('SIGTERM');
process.once('uncaughtException', (error) => {
  process.stderr.write(`bench: ${error.stack ?? error.message}\n`);
  void closeAllScopes().finally(() => process.exit(1));
});
main()
  .then((code) => code !== null && process.exit(code))
  .catch(async (error: Error) => {
    process.stderr.write(`bench: ${error.message}\n`);
    await closeAllScopes();
    process.exit(1);
  });
