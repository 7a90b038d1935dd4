/**
 * Phase 5's words for the transcript language of `@distkv/replication`:
 *   create ... elect [no-pre-vote] [no-check-quorum]   (nobody is configured to lead; Raft elects)
 *   campaign <id>                                      (its election timeout fires: pre-vote first unless no-pre-vote)
 */
import type { NodeId } from '@distkv/replication';
import type { TranscriptExtension } from '@distkv/replication/testing';
import { raftElection, raftElectionOf } from '../raft-election.js';

// #region election-transcripts
export const electionTranscripts: TranscriptExtension = {
  clusterOptions(args) {
    if (!args.includes('elect')) return {};
    const preVote = !args.includes('no-pre-vote');
    const checkQuorum = !args.includes('no-check-quorum');
    return { election: (_id: NodeId, rng) => raftElection({ preVote, checkQuorum, rng }) };
  },
  run(cluster, command, args) {
    if (command !== 'campaign') return undefined;
    const election = raftElectionOf(cluster.raft(args[0] as string));
    election.campaign(election.preVote ? 'pre-vote' : 'election', false);
    return [];
  },
};
// #endregion election-transcripts
