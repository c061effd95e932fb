package jsapi

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Enumerations marshal to the reference's JSON strings. Unmarshalling an unknown
// string fails with the reference's message ("can not unmarshal \"...\"" for most,
// its own wording for the others), which the API turns into an invalid-JSON error;
// marshalling a value outside the enumeration fails too, which the reference uses
// to reject such values in a configuration.

// enumeration is what the generic helpers need of an enumeration type.
type enumeration interface {
	~int | ~uint8
	fmt.Stringer
}

// enumerationName is one value's JSON string.
type enumerationName[T enumeration] struct {
	value T
	name  string
}

// marshalEnumeration returns value's quoted name, or the reference's "can not marshal"
// error, which names the value by its String form.
func marshalEnumeration[T enumeration](value T, names []enumerationName[T]) ([]byte, error) {
	for _, entry := range names {
		if entry.value == value {
			return []byte(`"` + entry.name + `"`), nil
		}
	}
	return nil, fmt.Errorf("can not marshal %v", value)
}

// lookupEnumeration finds the value whose quoted name is data exactly.
func lookupEnumeration[T enumeration](data []byte, names []enumerationName[T]) (T, bool) {
	for _, entry := range names {
		if len(data) == len(entry.name)+2 && data[0] == '"' && string(data[1:len(data)-1]) == entry.name {
			return entry.value, true
		}
	}
	var zero T
	return zero, false
}

// canNotUnmarshal is the reference's error for an unknown enumeration string.
func canNotUnmarshal(data []byte) error { return fmt.Errorf("can not unmarshal %q", data) }

// RetentionPolicy decides when a stream's messages are removed: by limits only, once
// every interested consumer acked, or once any consumer acked (a work queue).
type RetentionPolicy int

// Retention policies.
const (
	LimitsPolicy RetentionPolicy = iota
	InterestPolicy
	WorkQueuePolicy
)

var retentionNames = []enumerationName[RetentionPolicy]{
	{LimitsPolicy, "limits"}, {InterestPolicy, "interest"}, {WorkQueuePolicy, "workqueue"},
}

// String returns the reference's display name (Limits, Interest, WorkQueue).
func (p RetentionPolicy) String() string {
	switch p {
	case LimitsPolicy:
		return "Limits"
	case InterestPolicy:
		return "Interest"
	case WorkQueuePolicy:
		return "WorkQueue"
	}
	return "Unknown Retention Policy"
}

// MarshalJSON implements json.Marshaler.
func (p RetentionPolicy) MarshalJSON() ([]byte, error) { return marshalEnumeration(p, retentionNames) }

// UnmarshalJSON implements json.Unmarshaler.
func (p *RetentionPolicy) UnmarshalJSON(data []byte) error {
	value, ok := lookupEnumeration(data, retentionNames)
	if !ok {
		return canNotUnmarshal(data)
	}
	*p = value
	return nil
}

// DiscardPolicy decides what a full stream does with a new message: drop old ones to
// make room, or refuse the new one.
type DiscardPolicy int

// Discard policies.
const (
	DiscardOld DiscardPolicy = iota
	DiscardNew
)

var discardNames = []enumerationName[DiscardPolicy]{{DiscardOld, "old"}, {DiscardNew, "new"}}

// String returns the reference's display name (DiscardOld, DiscardNew).
func (p DiscardPolicy) String() string {
	switch p {
	case DiscardOld:
		return "DiscardOld"
	case DiscardNew:
		return "DiscardNew"
	}
	return "Unknown Discard Policy"
}

// MarshalJSON implements json.Marshaler.
func (p DiscardPolicy) MarshalJSON() ([]byte, error) { return marshalEnumeration(p, discardNames) }

// UnmarshalJSON implements json.Unmarshaler. Unlike the other enumerations the
// reference accepts any letter case here ("OLD", "New").
func (p *DiscardPolicy) UnmarshalJSON(data []byte) error {
	value, ok := lookupEnumeration([]byte(strings.ToLower(string(data))), discardNames)
	if !ok {
		return canNotUnmarshal(data)
	}
	*p = value
	return nil
}

// StorageType is where a stream keeps its messages. The numeric values are the
// reference's (file 22, memory 33), so the zero value means "not set" and defaults to file.
type StorageType int

// Storage types.
const (
	FileStorage   StorageType = 22
	MemoryStorage StorageType = 33
)

var storageNames = []enumerationName[StorageType]{{FileStorage, "file"}, {MemoryStorage, "memory"}}

// String returns the reference's display name (File, Memory).
func (s StorageType) String() string {
	switch s {
	case FileStorage:
		return "File"
	case MemoryStorage:
		return "Memory"
	}
	return "Unknown Storage Type"
}

// MarshalJSON implements json.Marshaler.
func (s StorageType) MarshalJSON() ([]byte, error) { return marshalEnumeration(s, storageNames) }

// UnmarshalJSON implements json.Unmarshaler.
func (s *StorageType) UnmarshalJSON(data []byte) error {
	value, ok := lookupEnumeration(data, storageNames)
	if !ok {
		return canNotUnmarshal(data)
	}
	*s = value
	return nil
}

// Compression is a stream's storage compression.
type Compression uint8

// Compression algorithms.
const (
	NoCompression Compression = iota
	S2Compression
)

var compressionNames = []enumerationName[Compression]{{NoCompression, "none"}, {S2Compression, "s2"}}

// errUnknownCompression is the reference's error for both directions.
var errUnknownCompression = fmt.Errorf("unknown compression algorithm")

// String returns the reference's display name (None, S2).
func (c Compression) String() string {
	switch c {
	case NoCompression:
		return "None"
	case S2Compression:
		return "S2"
	}
	return "Unknown StoreCompression"
}

// MarshalJSON implements json.Marshaler.
func (c Compression) MarshalJSON() ([]byte, error) {
	data, err := marshalEnumeration(c, compressionNames)
	if err != nil {
		return nil, errUnknownCompression
	}
	return data, nil
}

// UnmarshalJSON implements json.Unmarshaler. The reference decodes a JSON string
// first, so escapes are honoured and a non-string is a JSON type error.
func (c *Compression) UnmarshalJSON(data []byte) error {
	var text string
	if err := json.Unmarshal(data, &text); err != nil {
		return err
	}
	value, ok := lookupEnumeration([]byte(`"`+text+`"`), compressionNames)
	if !ok {
		return errUnknownCompression
	}
	*c = value
	return nil
}

// PersistMode is how a stream makes writes durable: the default (per the server's
// sync policy) or asynchronously.
type PersistMode int

// Persist modes.
const (
	DefaultPersistMode PersistMode = iota
	AsyncPersistMode
)

var persistModeNames = []enumerationName[PersistMode]{{DefaultPersistMode, "default"}, {AsyncPersistMode, "async"}}

// String returns the reference's display name (Default, Async).
func (m PersistMode) String() string {
	switch m {
	case DefaultPersistMode:
		return "Default"
	case AsyncPersistMode:
		return "Async"
	}
	return "Unknown Persist Mode Type"
}

// MarshalJSON implements json.Marshaler.
func (m PersistMode) MarshalJSON() ([]byte, error) { return marshalEnumeration(m, persistModeNames) }

// UnmarshalJSON implements json.Unmarshaler; "" means the default.
func (m *PersistMode) UnmarshalJSON(data []byte) error {
	if string(data) == `""` {
		*m = DefaultPersistMode
		return nil
	}
	value, ok := lookupEnumeration(data, persistModeNames)
	if !ok {
		return canNotUnmarshal(data)
	}
	*m = value
	return nil
}

// DeliverPolicy is where a consumer starts in its stream.
type DeliverPolicy int

// Deliver policies.
const (
	DeliverAll DeliverPolicy = iota
	DeliverLast
	DeliverNew
	DeliverByStartSequence
	DeliverByStartTime
	DeliverLastPerSubject
)

var deliverNames = []enumerationName[DeliverPolicy]{
	{DeliverAll, "all"}, {DeliverLast, "last"}, {DeliverNew, "new"},
	{DeliverByStartSequence, "by_start_sequence"}, {DeliverByStartTime, "by_start_time"},
	{DeliverLastPerSubject, "last_per_subject"},
}

// String returns the JSON name without quotes, or "undefined".
func (p DeliverPolicy) String() string {
	for _, entry := range deliverNames {
		if entry.value == p {
			return entry.name
		}
	}
	return "undefined"
}

// MarshalJSON implements json.Marshaler. The reference writes "undefined" for a value
// outside the enumeration rather than failing.
func (p DeliverPolicy) MarshalJSON() ([]byte, error) {
	data, err := marshalEnumeration(p, deliverNames)
	if err != nil {
		return []byte(`"undefined"`), nil
	}
	return data, nil
}

// UnmarshalJSON implements json.Unmarshaler; "undefined" reads as all.
func (p *DeliverPolicy) UnmarshalJSON(data []byte) error {
	if string(data) == `"undefined"` {
		*p = DeliverAll
		return nil
	}
	value, ok := lookupEnumeration(data, deliverNames)
	if !ok {
		return canNotUnmarshal(data)
	}
	*p = value
	return nil
}

// AckPolicy is how a consumer's messages are acknowledged.
type AckPolicy int

// Ack policies. AckFlowControl is the reference's policy for stream sourcing.
const (
	AckNone AckPolicy = iota
	AckAll
	AckExplicit
	AckFlowControl
)

var ackNames = []enumerationName[AckPolicy]{
	{AckNone, "none"}, {AckAll, "all"}, {AckExplicit, "explicit"}, {AckFlowControl, "flow_control"},
}

// String returns the JSON name without quotes; values outside the enumeration print
// as "explicit", like the reference.
func (p AckPolicy) String() string {
	for _, entry := range ackNames {
		if entry.value == p {
			return entry.name
		}
	}
	return "explicit"
}

// MarshalJSON implements json.Marshaler.
func (p AckPolicy) MarshalJSON() ([]byte, error) { return marshalEnumeration(p, ackNames) }

// UnmarshalJSON implements json.Unmarshaler.
func (p *AckPolicy) UnmarshalJSON(data []byte) error {
	value, ok := lookupEnumeration(data, ackNames)
	if !ok {
		return canNotUnmarshal(data)
	}
	*p = value
	return nil
}

// ReplayPolicy is the pace at which a consumer delivers stored messages.
type ReplayPolicy int

// Replay policies.
const (
	ReplayInstant ReplayPolicy = iota
	ReplayOriginal
)

var replayNames = []enumerationName[ReplayPolicy]{{ReplayInstant, "instant"}, {ReplayOriginal, "original"}}

// String returns the quoted JSON name, as the reference's String does.
func (p ReplayPolicy) String() string {
	if p == ReplayInstant {
		return `"instant"`
	}
	return `"original"`
}

// MarshalJSON implements json.Marshaler.
func (p ReplayPolicy) MarshalJSON() ([]byte, error) { return marshalEnumeration(p, replayNames) }

// UnmarshalJSON implements json.Unmarshaler.
func (p *ReplayPolicy) UnmarshalJSON(data []byte) error {
	value, ok := lookupEnumeration(data, replayNames)
	if !ok {
		return canNotUnmarshal(data)
	}
	*p = value
	return nil
}

// PriorityPolicy is how a pull consumer shares messages among the clients of its
// priority groups.
type PriorityPolicy int

// Priority policies.
const (
	PriorityNone PriorityPolicy = iota
	PriorityOverflow
	PriorityPinnedClient
	PriorityPrioritized
)

var priorityNames = []enumerationName[PriorityPolicy]{
	{PriorityNone, "none"}, {PriorityOverflow, "overflow"},
	{PriorityPinnedClient, "pinned_client"}, {PriorityPrioritized, "prioritized"},
}

// String returns the quoted JSON name, as the reference's String does.
func (p PriorityPolicy) String() string {
	for _, entry := range priorityNames {
		if entry.value == p {
			return `"` + entry.name + `"`
		}
	}
	return `"none"`
}

// MarshalJSON implements json.Marshaler.
func (p PriorityPolicy) MarshalJSON() ([]byte, error) {
	data, err := marshalEnumeration(p, priorityNames)
	if err != nil {
		return nil, fmt.Errorf("unknown priority policy: %v", p)
	}
	return data, nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (p *PriorityPolicy) UnmarshalJSON(data []byte) error {
	value, ok := lookupEnumeration(data, priorityNames)
	if !ok {
		return fmt.Errorf("unknown priority policy: %v", string(data))
	}
	*p = value
	return nil
}

// ConsumerAction is what a consumer create request allows: create or update (""),
// only create, or only update.
type ConsumerAction int

// Consumer actions.
const (
	ActionCreateOrUpdate ConsumerAction = iota
	ActionUpdate
	ActionCreate
)

var actionNames = []enumerationName[ConsumerAction]{
	{ActionCreateOrUpdate, ""}, {ActionUpdate, "update"}, {ActionCreate, "create"},
}

// String returns the quoted JSON name, as the reference's String does.
func (a ConsumerAction) String() string {
	switch a {
	case ActionCreate:
		return `"create"`
	case ActionUpdate:
		return `"update"`
	}
	return `""`
}

// MarshalJSON implements json.Marshaler.
func (a ConsumerAction) MarshalJSON() ([]byte, error) { return marshalEnumeration(a, actionNames) }

// UnmarshalJSON implements json.Unmarshaler.
func (a *ConsumerAction) UnmarshalJSON(data []byte) error {
	value, ok := lookupEnumeration(data, actionNames)
	if !ok {
		return fmt.Errorf("unknown consumer action: %v", string(data))
	}
	*a = value
	return nil
}
