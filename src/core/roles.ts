/**
 * Role contracts: each role's input and output, shared by the environments
 * that pose them and the role agents that fill them, so neither imports the
 * other.
 */

export interface SolverInput {
  readonly question: string;
}

export interface SolverOutput {
  /** The final answer, as written in the last \boxed{} (or [...]). */
  readonly answer: string;
}

export interface CriticInput {
  readonly problem: string;
  readonly steps: readonly string[];
  /** The step to judge, 1-based (default: the last). */
  readonly step?: number;
}

export interface CriticOutput {
  readonly verdict: 'correct' | 'incorrect';
}

/** A step for a critic to judge, with the verdict that is right (an evaluation set). */
export interface LabelledCriticStep {
  readonly input: CriticInput;
  readonly verdict: CriticOutput['verdict'];
}

export interface SneakyInput {
  readonly problem: string;
  /** A correct solution, one entry per step. */
  readonly steps: readonly string[];
  /** The step to rewrite, 1-based. */
  readonly step: number;
}

export interface SneakyOutput {
  /** The rewritten, subtly wrong step. */
  readonly step: string;
  /** The kind of error it claims to have introduced. */
  readonly errorType: string;
}

/** A prompt to answer as it is (SPIN's opponent answers the prompts of a supervised data set). */
export interface AnswererInput {
  readonly prompt: string;
}

export interface AnswererOutput {
  /** The whole reply. */
  readonly answer: string;
}

/** A partial solution to extend by one step (ReST-MCTS*'s policy, asked at each node of its search). */
export interface ReasonerInput {
  readonly problem: string;
  /** The steps so far, one line each. */
  readonly steps: readonly string[];
}

/** The longest step a reasoner may write: a step is one line of reasoning. */
export const MAX_STEP_CHARS = 500;

export interface ReasonerOutput {
  /** The next step, one line: an operation and its result (`23 + 17 = 40`), or the final `Answer: 40`. */
  readonly step: string;
}

/** A helpful prover's step (prover-verifier games): the step written out, its last number the value it claims. */
export interface HelpfulOutput {
  readonly step: string;
}

export interface QuestionAnswer {
  readonly question: string;
  readonly answer: string;
}

export interface TeacherInput {
  readonly topic: string;
  readonly count: number;
  /** Pairs to imitate (or to avoid repeating). */
  readonly examples?: readonly QuestionAnswer[];
}

export interface TeacherOutput {
  readonly pairs: readonly QuestionAnswer[];
}

export interface ProgramExample {
  readonly program: string;
  readonly input: string;
  readonly output?: string;
}

export interface ProposerInput {
  /** Default `python`. */
  readonly language?: string;
  /** Earlier tasks, as references to differ from. */
  readonly examples?: readonly ProgramExample[];
  /** What kind of task to propose and how to write the input (an environment's task type). */
  readonly instructions?: string;
}

export interface ProposerOutput {
  readonly program: string;
  readonly input: string;
  /** The program block's language, as its fence names it (may be empty). */
  readonly language: string;
}

export interface CreatorInput {
  /** The task family, e.g. `sum`. */
  readonly family: string;
  /** What a task of the family asks and what its parameters mean. */
  readonly description: string;
  /** The parent task's integer parameters. */
  readonly params: Readonly<Record<string, number>>;
  /** Each parameter's inclusive [min, max]. */
  readonly bounds?: Readonly<Record<string, readonly [number, number]>>;
  /** How informative the parent was for the solver: best sampled reward minus the mean (0 when unmeasured). */
  readonly informativeness: number;
}

export interface CreatorOutput {
  /** The proposed child task's parameters (integers; names of the family's parameters). */
  readonly params: Readonly<Record<string, number>>;
}

export interface ConjecturerInput {
  /** The seed theorem to conjecture near, as a sequent: `A, B |- C`. */
  readonly theorem: string;
  /** What the proofs may use, one line each (the axiom schemes and rules). */
  readonly system: readonly string[];
}

export interface ConjecturerOutput {
  /** The conjecture, as a sequent: `A, B |- C`. */
  readonly conjecture: string;
}

export interface ProverInput {
  /** The sequent to prove: `A, B |- C`. */
  readonly statement: string;
  readonly system: readonly string[];
}

export interface ProverOutput {
  /** The proof, one numbered step per line. */
  readonly proof: string;
}

/** `Step 1: ...` lines, as the critic and the sneaky generator see a solution. */
export const numberedSteps = (steps: readonly string[]): string => steps.map((s, i) => `Step ${i + 1}: ${s}`).join('\n');
