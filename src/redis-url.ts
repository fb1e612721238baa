// The forms of TR_QUEUE that name Redis servers, parsed once for the settings check and the connection.

const CLUSTER_SCHEME = 'redis-cluster://';

/**
 * The seed nodes of a `redis-cluster://[user:password@]host:port,host:port...` URL (any one node is enough; ioredis
 * learns the rest), or undefined when the text is not such a URL.
 */
export function clusterSeeds(
  url: string,
): { nodes: Array<{ host: string; port: number }>; username?: string; password?: string } | undefined {
  if (!url.startsWith(CLUSTER_SCHEME)) return undefined;
  const rest = url.slice(CLUSTER_SCHEME.length).replace(/\/$/, '');
  const at = rest.lastIndexOf('@');
  const hosts = at < 0 ? rest : rest.slice(at + 1);
  const nodes = hosts.split(',').map((hostPort) => {
    const m = /^([\w.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(hostPort.trim());
    const port = Number(m?.[2]);
    return m && port > 0 && port < 65536 ? { host: m[1].replace(/^\[|\]$/g, ''), port } : undefined;
  });
  if (nodes.length === 0 || nodes.some((n) => n === undefined)) return undefined;
  const seeds = { nodes: nodes as Array<{ host: string; port: number }> };
  if (at < 0) return seeds;
  const auth = rest.slice(0, at);
  const colon = auth.indexOf(':');
  const username = decoded(colon < 0 ? auth : auth.slice(0, colon));
  const password = colon < 0 ? '' : decoded(auth.slice(colon + 1));
  if (username === undefined || password === undefined) return undefined;
  return { ...seeds, ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

function decoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
