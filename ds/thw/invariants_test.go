package thw

import (
	"fmt"
	"math"
)

// checkInvariants verifies the wheel's bookkeeping: every entry sits in the slot of its
// expiration, no slot is empty, the count matches, and every lowest value bounds its
// entries from below (and equals the minimum when flagged exact).
func (w *HashWheel) checkInvariants() error {
	if w.expiring {
		return fmt.Errorf("expiring flag left set")
	}
	if w.wheel != nil && len(w.wheel) != wheelSize {
		return fmt.Errorf("wheel has %d slots", len(w.wheel))
	}
	count, lowest := uint64(0), int64(math.MaxInt64)
	for pos, s := range w.wheel {
		if s == nil {
			continue
		}
		if len(s.entries) == 0 {
			return fmt.Errorf("slot %d is empty but allocated", pos)
		}
		slotLowest := int64(math.MaxInt64)
		for seq, expires := range s.entries {
			if position(expires) != pos {
				return fmt.Errorf("seq %d expiring %d sits in slot %d, want %d", seq, expires, pos, position(expires))
			}
			slotLowest = min(slotLowest, expires)
		}
		if s.lowest > slotLowest || s.lowestExact && s.lowest != slotLowest {
			return fmt.Errorf("slot %d lowest %d (exact %v), minimum %d", pos, s.lowest, s.lowestExact, slotLowest)
		}
		count += uint64(len(s.entries))
		lowest = min(lowest, slotLowest)
	}
	if count != w.count {
		return fmt.Errorf("count %d, entries %d", w.count, count)
	}
	if count > 0 && (w.lowest > lowest || w.lowestExact && w.lowest != lowest) {
		return fmt.Errorf("lowest %d (exact %v), minimum %d", w.lowest, w.lowestExact, lowest)
	}
	return nil
}
