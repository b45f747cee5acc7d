export { PolicyHostClient, PolicyHostError, type Published, type TrainItem, type TrainLoss, type TrainStepRequest, type TrainStepResult } from './host-client.ts';
export { POLICY_HOST_DIR, startPolicyHost, type PolicyHostProcess, type PolicyHostProcessOptions } from './process.ts';
export { VllmAdapters } from './vllm.ts';
