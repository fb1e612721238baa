import AjvCompiler, { type Options as AjvOptions } from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';

type BuildValidator = NonNullable<
  NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']
>;
interface RouteSchema {
  schema: { properties?: Record<string, { type?: unknown; pattern?: string }> };
  httpPart?: string;
}
type Validate = ((data: unknown, ctx?: unknown) => boolean) & { errors?: unknown[] | null };
type Compile = (route: RouteSchema) => Validate;

/** How an integer is written in a path, query or header when its schema sets no `pattern` of its own. */
const CANONICAL_INTEGER = '^(0|-?[1-9][0-9]*)$';

const ajvPool = AjvCompiler();

/**
 * Ajv per request part, Fastify's own compiler underneath: a JSON body is taken as typed and never
 * coerced ("100", true or [100] is not an integer); path, query and headers are text, so they are
 * coerced, but an integer must first be written canonically (no `007`, `1e3`, ` 5`, `+5`, `5.0`).
 */
export const buildRequestValidator: BuildValidator = (externalSchemas, options) => {
  // A pattern on an integer documents its text form; Ajv would only log that it never applies to numbers.
  const ajvFor = (coerceTypes: boolean) => {
    const customOptions: AjvOptions = {
      ...(options?.customOptions as AjvOptions | undefined),
      removeAdditional: false,
      allErrors: false,
      strictTypes: false,
      coerceTypes,
    };
    return ajvPool(externalSchemas, {
      plugins: options?.plugins,
      onCreate: options?.onCreate,
      customOptions,
    });
  };
  const typed = ajvFor(false);
  const text = ajvFor(true);
  const compile: Compile = (route) =>
    route.httpPart === 'body'
      ? (typed as unknown as Compile)(route)
      : canonicalIntegers(route.schema, (text as unknown as Compile)(route));
  return compile as unknown as ReturnType<BuildValidator>;
};

/** Wraps a coercing validator so integer fields that arrive as text are checked for form before coercion. */
function canonicalIntegers(schema: RouteSchema['schema'], validate: Validate): Validate {
  const fields = Object.entries(schema?.properties ?? {})
    .filter(([, s]) => s.type === 'integer')
    .map(([name, s]) => ({ name, pattern: new RegExp(s.pattern ?? CANONICAL_INTEGER) }));
  if (fields.length === 0) return validate;
  const check: Validate = (data, ctx) => {
    const values = (data ?? {}) as Record<string, unknown>;
    for (const { name, pattern } of fields) {
      const raw = values[name];
      if (typeof raw === 'string' && !pattern.test(raw)) {
        check.errors = [
          {
            keyword: 'pattern',
            instancePath: `/${name}`,
            schemaPath: `#/properties/${name}/pattern`,
            params: { pattern: pattern.source },
            message: 'must be a decimal integer written plainly, like 42',
          },
        ];
        return false;
      }
    }
    const ok = validate(data, ctx);
    check.errors = validate.errors;
    return ok;
  };
  return check;
}
