/**
 * An inert stand-in for modules that must not run inside the workflow sandbox
 * (`@temporalio/harness`, `@temporalio/client`, Node built-ins...). A feature module is
 * both its workflows' code and its runner-side declaration, so the workflow bundle
 * evaluates top-level code such as `new Feature({...})`; against this stand-in every
 * property, call and `new` gives the stand-in back and nothing happens. Workflow code
 * proper never uses these modules.
 */
const inert: unknown = new Proxy(function inertModule() {}, {
  get(_target, property) {
    if (property === Symbol.toPrimitive) return () => '';
    // Not thenable, not iterable: awaiting or spreading it must not hang or loop.
    if (typeof property === 'symbol' || property === 'then') return undefined;
    return inert;
  },
  apply: () => inert,
  construct: () => inert as object,
});

export = inert;
