/**
 * Which module may import which: the layering of lambdas/ (core pure, adapters own I/O, app orchestrates,
 * handlers thin), CDK constructs apart from the adapters, no cycles, nothing unused or unresolvable.
 * Run by `npm run lint` (`depcruise`); every rule here fails the run.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  // Every rule fails the lint.
  forbidden: [
    {
      name: 'core-is-pure',
      comment: 'lambdas/core is pure: it imports only other core files, zod and node built-ins.',
      from: { path: '^lambdas/core/' },
      to: { pathNot: ['^lambdas/core/', '^node_modules/zod/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'app-without-drivers',
      comment: 'lambdas/app orchestrates: MySQL, binlog and AWS SDK access (types included) belongs to lambdas/adapters.',
      from: { path: '^lambdas/app/' },
      to: { path: '^node_modules/(mysql2|@vlasky/zongji|@aws-sdk/[^/]+)/' },
    },
    {
      name: 'handlers-thin',
      comment:
        'lambdas/handlers parse the event and call lambdas/app: among project files they import only app, core and ' +
        'their own helpers; among packages only Powertools, zod and the aws-lambda types.',
      from: { path: '^lambdas/handlers/' },
      to: {
        pathNot: ['^lambdas/(app|core|handlers)/', '^node_modules/(@aws-lambda-powertools/[^/]+|zod|@types/aws-lambda)/'],
        dependencyTypesNot: ['core'],
      },
    },
    {
      name: 'lib-without-adapters',
      comment: 'The CDK constructs in lib/ describe resources; they never reach the runtime I/O of lambdas/adapters.',
      from: { path: '^lib/' },
      to: { path: '^lambdas/adapters/' },
    },
    {
      name: 'lambdas-without-local',
      comment: 'The Lambda code ships alone: it never imports the local runtime, the CLI, the CDK app or tests.',
      from: { path: '^lambdas/' },
      to: { path: '^(local|bin|lib|test|bench)/' },
    },
    {
      name: 'no-circular',
      comment: 'This import closes a cycle: move the shared part into a module both sides import.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-orphans',
      comment: 'Nothing imports this module and it is no entry point: use it or remove it.',
      from: {
        orphan: true,
        pathNot: [
          '(^|/)[.][^/]+[.](?:js|cjs|mjs|ts|cts|mts|json)$', // dot files
          '[.]d[.]ts$', // declaration files
          '^(bin|bench)/[^/]+[.]ts$', // CLI, CDK app and benchmarks
          '^local/synth-child[.]ts$', // started as a child process
          '^lambdas/app/capture-worker[.]ts$', // started as a worker thread
          '^test/.+[.]test[.]ts$',
          '^test/global-setup[.]ts$',
          '^[^/]+[.]config[.](?:js|ts)$', // tool configs at the root
          '^examples/',
        ],
      },
      to: {},
    },
    {
      name: 'not-to-test',
      comment: 'Only tests import test files and test helpers.',
      from: { pathNot: '^test/' },
      to: { path: '^test/' },
    },
    {
      name: 'not-to-dev-dep',
      comment:
        'Lambda code and CDK constructs ship or synthesize in production: their packages belong in dependencies, ' +
        'not devDependencies (type-only imports of @types packages excepted).',
      from: { path: '^(lambdas|lib)/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'], pathNot: ['^node_modules/@types/'] },
    },
    {
      name: 'no-non-package-json',
      comment: 'This package is not in package.json: add it, or it may be missing or of another version where this runs.',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'This import resolves to no file.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-deprecated-core',
      comment: 'A deprecated node built-in.',
      from: {},
      to: { dependencyTypes: ['core'], path: '^(punycode|domain|constants|sys|_linklist|_stream_wrap)$' },
    },
  ].map((rule) => ({ severity: 'error', ...rule })),
  options: {
    doNotFollow: { path: ['node_modules'] },
    exclude: { path: ['^cdk[.]out/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
  },
};
