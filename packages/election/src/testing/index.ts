/** Election scenarios on the replication simulator, for tests and `pnpm sim`. */

export { type ChurnOptions, runLeaderChurn } from './churn.js';
export { type EpisodeOptions, runLeaderEpisodes } from './episodes.js';
export {
  type ElectionAlgorithm,
  type ElectionScenarioOptions,
  electionStepsDefault,
  findBullyFailure,
  runElectionScenario,
} from './scenarios.js';
export { electionTranscripts } from './transcript.js';
