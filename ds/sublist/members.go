package sublist

// membersIndexThreshold is the member count above which a set keeps a map from value to
// position. Below it a linear scan is faster and a map would only cost memory, and most
// subjects have a single subscriber.
const membersIndexThreshold = 8

// members is an ordered set of values. Order is insertion order disturbed only by
// swap-removal, so it is a deterministic function of the operations applied, which keeps
// Match results reproducible in simulation.
type members[T comparable] struct {
	values []T
	// index maps a value to its position in values; nil while the set is small.
	index map[T]int
}

// find returns the position of value, or -1.
func (m *members[T]) find(value T) int {
	if m.index != nil {
		if position, ok := m.index[value]; ok {
			return position
		}
		return -1
	}
	for position, existing := range m.values {
		if existing == value {
			return position
		}
	}
	return -1
}

// add inserts value and reports false when it was already present.
func (m *members[T]) add(value T) bool {
	if m.find(value) >= 0 {
		return false
	}
	m.values = append(m.values, value)
	if m.index != nil {
		m.index[value] = len(m.values) - 1
	} else if len(m.values) > membersIndexThreshold {
		m.index = make(map[T]int, len(m.values))
		for position, existing := range m.values {
			m.index[existing] = position
		}
	}
	return true
}

// remove deletes value by moving the last value into its place, and reports false when
// value was absent.
func (m *members[T]) remove(value T) bool {
	position := m.find(value)
	if position < 0 {
		return false
	}
	last := len(m.values) - 1
	if position != last {
		m.values[position] = m.values[last]
		if m.index != nil {
			m.index[m.values[position]] = position
		}
	}
	var zero T
	m.values[last] = zero // Let the garbage collector reclaim what the value points to.
	m.values = m.values[:last]
	if m.index != nil {
		delete(m.index, value)
		if len(m.values) <= membersIndexThreshold/2 {
			m.index = nil
		}
	}
	if len(m.values) == 0 {
		m.values = nil
	}
	return true
}

// queueGroup is the members of one queue group on one node of the trie.
type queueGroup[T comparable] struct {
	name    string
	members members[T]
}
