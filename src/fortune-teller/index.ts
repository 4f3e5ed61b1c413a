export {
  QueueModel,
  defaultQueueModelConfig,
  type QueueModelConfig,
  type QueueModelCounters,
} from './queue-model.js';
export { RateEstimator, type RateEstimatorConfig } from './rate-estimator.js';
export {
  FortuneTeller,
  defaultFortuneTellerConfig,
  validateFortuneTellerConfig,
  newPrediction,
  type AggregationRule,
  type PredictorMode,
  type FortuneTellerConfig,
  type Prediction,
} from './fortune-teller.js';
