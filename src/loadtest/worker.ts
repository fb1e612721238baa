import { parentPort } from 'node:worker_threads';
import { runWorkerPlan } from './executors.ts';
import type { WorkerPlan } from './worker-plan.ts';

// Worker-thread entry: says it is ready once its modules are loaded, then runs the plan it is handed
// (which carries the shared start) and reports to the runner. 'report-now' (the runner's hard limit)
// cuts the run and sends what was measured so far.
const port = parentPort;
if (port) {
  let reportNow: () => void = () => undefined;
  const reportNowSignal = new Promise<void>((resolve) => {
    reportNow = resolve;
  });
  port.on('message', (message: { type?: string; plan?: WorkerPlan }) => {
    if (message?.type === 'halt') process.exit(0);
    if (message?.type === 'report-now') reportNow();
    if (message?.type === 'plan' && message.plan)
      runWorkerPlan(message.plan, (m) => port.postMessage(m), reportNowSignal).catch((err) => {
        port.postMessage({ type: 'error', message: String(err?.stack ?? err) });
      });
  });
  port.postMessage({ type: 'ready' });
}
