export { createMetrics, type Metrics, type MetricsDeps } from './metrics.js';
export { listenMetrics, metricsRoute, type MetricsListener } from './serve.js';
export { labelSetsOf, lotseQueueNames, type LabelSets } from './labels.js';
