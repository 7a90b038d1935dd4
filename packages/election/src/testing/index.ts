/** Election scenarios on the replication simulator, for tests and `pnpm sim`. */
export {
  type ElectionAlgorithm,
  type ElectionScenarioOptions,
  electionStepsDefault,
  findBullyFailure,
  runElectionScenario,
} from './scenarios.js';
