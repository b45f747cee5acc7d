export { HostedPolicyBackend, trainItem, type HostedBackendOptions, type HostedMetrics } from './backend.ts';
export { PolicyHostClient, PolicyHostError, type Published, type TrainItem, type TrainLoss, type TrainStepRequest, type TrainStepResult } from './client.ts';
export { LEARNER, playHosted, trainHosted, type HostedIteration, type HostedPlayOptions, type HostedTrainingOptions } from './loop.ts';
export { POLICY_HOST_DIR, startPolicyHost, type PolicyHostProcess, type PolicyHostProcessOptions } from './process.ts';
export { VllmAdapters } from './vllm.ts';
