/** The configuration module: types, defaults, schema, loading with file:line:col problems. */
export type {
  Config,
  FeedbackUpdaterSection,
  FlowsConfig,
  FortuneTellerSection,
  InterfacesConfig,
  LogConfig,
  LogLevel,
  MetricsConfig,
  NfqueueConfig,
  PortFilterConfig,
  QueueBackend,
  QueueConfig,
  QueueDiscipline,
  QueueRateFrom,
  RtpConfig,
  WatchdogConfig,
} from './config.js';
export { CONFIG_DEFAULTS, type ConfigDefaults } from './config-defaults.js';
export { ConfigError, formatProblem, type ConfigProblem } from './config-error.js';
export { loadSchema, schemaPath, type SchemaNode } from './schema.js';
export { schemaText, schemaWithDefaults } from './schema-defaults.js';
export { suggestKey } from './problems.js';
export { configWarnings, parseCidr, parseListen } from './semantic.js';
export { dottedPath } from './yaml-locator.js';
export {
  DEFAULT_CONFIG_PATH,
  changedSections,
  loadConfig,
  parseConfig,
  tryLoadConfig,
  type ReloadResult,
} from './load-config.js';
