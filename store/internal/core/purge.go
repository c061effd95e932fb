package core

// PurgeEx removes the messages matching filter ("" or ">" for all) below seq (0: no
// bound), keeping the newest keep matching messages, with the reference's semantics.
func PurgeEx(s *Stream, filter string, seq, keep uint64) (uint64, error) {
	if filter == "" || filter == ">" {
		if keep == 0 && seq == 0 {
			return s.Purge(false)
		}
		if seq > 1 {
			return s.Compact(seq, false)
		}
		if keep > 0 {
			if keep >= s.msgs {
				return 0, nil
			}
			return s.Compact(s.last-keep+1, false)
		}
		return 0, nil
	}
	state := s.FilteredState(1, filter)
	if state.Msgs == 0 {
		return 0, nil
	}
	if keep > 0 {
		if keep >= state.Msgs {
			return 0, nil
		}
		state.Msgs -= keep
	}
	last := state.Last
	if seq > 1 {
		last = seq - 1
	}
	m := newMatcher([]string{filter})
	var seqs []uint64
	for i := s.lowerBound(state.First); i < s.entries.len() && uint64(len(seqs)) < state.Msgs; i++ {
		e := s.entries.at(i)
		if e.Seq > last {
			break
		}
		if !e.Deleted && m.match(e.Subject) {
			seqs = append(seqs, e.Seq)
		}
	}
	var purged uint64
	if bulk, ok := s.backend.(BulkRemover); ok {
		// One journal record per chunk instead of one per message.
		for len(seqs) > 0 {
			chunk := seqs[:min(len(seqs), BulkRemoveSeqsMax)]
			seqs = seqs[len(chunk):]
			if err := bulk.RemoveSeqs(chunk); err != nil {
				return purged, err
			}
			for _, q := range chunk {
				if ok, _ := s.Remove(q, false, true); ok {
					purged++
				}
			}
		}
		return purged, nil
	}
	for _, q := range seqs {
		ok, err := s.Remove(q, false, false)
		if err != nil {
			return purged, err
		}
		if ok {
			purged++
		}
	}
	return purged, nil
}

// BulkRemover is a Backend that can journal the removal of many messages as one
// change (a filtered purge). RemoveSeqs is called before the index changes, with at
// most BulkRemoveSeqsMax ascending sequences of live messages; an error aborts.
type BulkRemover interface {
	RemoveSeqs(seqs []uint64) error
}

// BulkRemoveSeqsMax bounds the sequences of one RemoveSeqs call.
const BulkRemoveSeqsMax = 1 << 16
