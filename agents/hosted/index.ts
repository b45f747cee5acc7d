export { CHOICE_SCORINGS, PolicyHostClient, PolicyHostError, type ChoiceItem, type ChoiceProbabilities, type ChoiceScoring } from './host-client.ts';
export {
  completionDatum, TinkerClient, TinkerError, TinkerModel,
  type AdamParams, type Datum, type ForwardBackwardOutput, type LossFn, type ModelInput, type SampledSequence, type SampleOutput, type SampleSource, type SamplerWeights, type SamplingParams, type TensorData, type TinkerClientOptions,
} from './tinker-client.ts';
export { TinkerSampler, type TinkerSamplerOptions } from './tinker-sampler.ts';
export { POLICY_HOST_DIR, startPolicyHost, type PolicyHostProcess, type PolicyHostProcessOptions } from './process.ts';
export { VllmAdapters } from './vllm.ts';
