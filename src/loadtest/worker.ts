import { parentPort, workerData } from 'node:worker_threads';
import { runWorkerPlan } from './executors.ts';
import type { WorkerPlan } from './worker-plan.ts';

// Worker-thread entry: runs its part of the plan and reports to the runner.
const port = parentPort;
if (port) {
  const plan = workerData as WorkerPlan;
  port.on('message', (message: { type?: string }) => {
    if (message?.type === 'halt') process.exit(0);
  });
  runWorkerPlan(plan, (message) => port.postMessage(message)).catch((err) => {
    port.postMessage({ type: 'error', message: String(err?.stack ?? err) });
  });
}
