// `npm run build:web`: builds web/src into web/dist/<hash>/ now (`ticketrush serve` does the same when needed).
import { ensureWebBuild } from '../src/http/web/build.ts';

const started = performance.now();
const build = await ensureWebBuild();
console.log(
  `web build ${build.id} ready in ${Math.round(performance.now() - started)} ms: ${build.assetsDir}`,
);
