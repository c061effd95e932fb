package jetstream

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/natsim/natsim/ds/subject"
	"github.com/natsim/natsim/env/osenv"
	"github.com/natsim/natsim/proto/header"
	"github.com/natsim/natsim/proto/jsapi"
)

// busHost is an in-memory Host: one account's subscriptions in a list, messages
// delivered inline. It lets the API tests run the Manager without a server.
type busHost struct {
	mu            sync.Mutex
	subscriptions []*busSubscription
}

type busSubscription struct {
	host    *busHost
	subject string
	handler Handler
}

func (s *busSubscription) Unsubscribe() {
	s.host.mu.Lock()
	defer s.host.mu.Unlock()
	for i, other := range s.host.subscriptions {
		if other == s {
			s.host.subscriptions = append(s.host.subscriptions[:i], s.host.subscriptions[i+1:]...)
			return
		}
	}
}

func (b *busHost) matching(deliverSubject string) []*busSubscription {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*busSubscription
	for _, subscription := range b.subscriptions {
		if subject.MatchesFilter(deliverSubject, subscription.subject) {
			out = append(out, subscription)
		}
	}
	return out
}

func (b *busHost) Publish(_ string, subjectName, reply string, headerBlock, data []byte) {
	b.Deliver("", subjectName, subjectName, reply, headerBlock, data)
}

func (b *busHost) Deliver(_ string, deliverSubject, subjectName, reply string, headerBlock, data []byte) {
	for _, subscription := range b.matching(deliverSubject) {
		subscription.handler(&Msg{Subject: subjectName, Reply: reply, Header: headerBlock, Data: data})
	}
}

func (b *busHost) Subscribe(_ string, subjectName string, handler Handler) (Subscription, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	subscription := &busSubscription{host: b, subject: subjectName, handler: handler}
	b.subscriptions = append(b.subscriptions, subscription)
	return subscription, nil
}

func (b *busHost) HasInterest(_ string, subjectName string) bool {
	return len(b.matching(subjectName)) > 0
}

// request sends body to subjectName and returns the single answer.
func (b *busHost) request(t *testing.T, subjectName, body string) *Msg {
	t.Helper()
	inbox := fmt.Sprintf("_INBOX.%d", len(b.subscriptions))
	var answers []*Msg
	subscription, _ := b.Subscribe("", inbox, func(msg *Msg) {
		copied := *msg
		answers = append(answers, &copied)
	})
	defer subscription.Unsubscribe()
	b.Publish("", subjectName, inbox, nil, []byte(body))
	if len(answers) != 1 {
		t.Fatalf("%s: %d answers", subjectName, len(answers))
	}
	return answers[0]
}

// apiError decodes an API answer's error code (0 for none).
func apiError(t *testing.T, msg *Msg) int {
	t.Helper()
	var response jsapi.Response
	if err := json.Unmarshal(msg.Data, &response); err != nil {
		t.Fatalf("answer %q: %v", msg.Data, err)
	}
	if response.Error == nil {
		return 0
	}
	return int(response.Error.ErrCode)
}

func newAPIHarness(t *testing.T) *busHost {
	t.Helper()
	host := &busHost{}
	manager, err := New(Config{Env: osenv.New(), StoreDir: t.TempDir()}, host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(manager.Stop)
	if _, err := manager.EnableAccount("A", AccountLimits{}); err != nil {
		t.Fatal(err)
	}
	answer := host.request(t, "$JS.API.STREAM.CREATE.S", `{"name":"S","subjects":["s.>"]}`)
	if code := apiError(t, answer); code != 0 {
		t.Fatalf("stream create: %s", answer.Data)
	}
	return host
}

// TestConsumerAPICreateForms proves the reference's checks of the create subject
// forms and bodies, each with its err_code.
func TestConsumerAPICreateForms(t *testing.T) {
	host := newAPIHarness(t)
	cases := []struct {
		subject, body string
		code          jsapi.ErrorCode
	}{
		{"$JS.API.CONSUMER.CREATE.S", `{"stream_name":"X","config":{"ack_policy":"explicit"}}`, jsapi.ErrCodeStreamMismatch},
		{"$JS.API.CONSUMER.CREATE.S", `{"stream_name":"S","config":{"durable_name":"D","ack_policy":"explicit"}}`, jsapi.ErrCodeConsumerEphemeralWithDurableName},
		{"$JS.API.CONSUMER.DURABLE.CREATE.S.D", `{"stream_name":"S","config":{"ack_policy":"explicit"}}`, jsapi.ErrCodeConsumerDurableNameNotSet},
		{"$JS.API.CONSUMER.DURABLE.CREATE.S.D", `{"stream_name":"S","config":{"durable_name":"E","ack_policy":"explicit"}}`, jsapi.ErrCodeConsumerDurableNameNotMatchSubject},
		{"$JS.API.CONSUMER.CREATE.S.C.s.a", `{"stream_name":"S","config":{"name":"C","filter_subject":"s.b","ack_policy":"explicit"}}`, jsapi.ErrCodeConsumerCreateFilterSubjectMismatch},
		{"$JS.API.CONSUMER.CREATE.S.C.s.a", `{"stream_name":"S","config":{"name":"C","filter_subjects":["s.a"],"ack_policy":"explicit"}}`, jsapi.ErrCodeConsumerMultipleFiltersNotAllowed},
		{"$JS.API.CONSUMER.CREATE.NOPE.C", `{"stream_name":"NOPE","config":{"name":"C","ack_policy":"explicit"}}`, jsapi.ErrCodeStreamNotFound},
		{"$JS.API.CONSUMER.CREATE.S.C", `{"stream_name":"S","config":{"name":"C","ack_policy":"explicit"},"action":"update"}`, jsapi.ErrCodeConsumerDoesNotExist},
		{"$JS.API.CONSUMER.CREATE.S", `{"stream_name":"S","config":{"ack_policy":"explicit","bogus":1}}`, jsapi.ErrCodeInvalidJSON},
	}
	for _, test := range cases {
		if code := apiError(t, host.request(t, test.subject, test.body)); code != int(test.code) {
			t.Errorf("%s %s: err_code %d, want %d", test.subject, test.body, code, test.code)
		}
	}
	for _, create := range []struct{ subject, body string }{
		{"$JS.API.CONSUMER.CREATE.S.C.s.a", `{"stream_name":"S","config":{"name":"C","filter_subject":"s.a","ack_policy":"explicit"}}`},
		{"$JS.API.CONSUMER.DURABLE.CREATE.S.D", `{"stream_name":"S","config":{"durable_name":"D","ack_policy":"explicit"}}`},
		{"$JS.API.CONSUMER.CREATE.S", `{"stream_name":"S","config":{"ack_policy":"explicit"}}`},
	} {
		answer := host.request(t, create.subject, create.body)
		var response jsapi.ConsumerCreateResponse
		if err := json.Unmarshal(answer.Data, &response); err != nil || response.Error != nil || response.ConsumerInfo == nil {
			t.Fatalf("%s: %s", create.subject, answer.Data)
		}
	}
	// The same create again is idempotent; a different one under action create fails.
	same := `{"stream_name":"S","config":{"durable_name":"D","ack_policy":"explicit"},"action":"create"}`
	if code := apiError(t, host.request(t, "$JS.API.CONSUMER.CREATE.S.D", same)); code != 0 {
		t.Fatalf("identical create: %d", code)
	}
	different := `{"stream_name":"S","config":{"durable_name":"D","ack_policy":"explicit","description":"x"},"action":"create"}`
	if code := apiError(t, host.request(t, "$JS.API.CONSUMER.CREATE.S.D", different)); code != int(jsapi.ErrCodeConsumerAlreadyExists) {
		t.Fatalf("different create: %d", code)
	}
	update := `{"stream_name":"S","config":{"durable_name":"D","ack_policy":"all"}}`
	if code := apiError(t, host.request(t, "$JS.API.CONSUMER.CREATE.S.D", update)); code != int(jsapi.ErrCodeConsumerCreate) {
		t.Fatalf("ack policy update: %d", code)
	}
}

// TestConsumerAPIInfoNamesListDelete proves info, names, list and delete answers,
// and the not-found errors.
func TestConsumerAPIInfoNamesListDelete(t *testing.T) {
	host := newAPIHarness(t)
	for _, name := range []string{"B", "A"} {
		body := fmt.Sprintf(`{"stream_name":"S","config":{"durable_name":%q,"ack_policy":"explicit"}}`, name)
		if code := apiError(t, host.request(t, "$JS.API.CONSUMER.DURABLE.CREATE.S."+name, body)); code != 0 {
			t.Fatalf("create %s: %d", name, code)
		}
	}
	var names jsapi.ConsumerNamesResponse
	_ = json.Unmarshal(host.request(t, "$JS.API.CONSUMER.NAMES.S", "").Data, &names)
	if strings.Join(names.Consumers, ",") != "A,B" || names.Total != 2 || names.Limit != jsapi.NamesLimit {
		t.Fatalf("names %+v", names)
	}
	var list jsapi.ConsumerListResponse
	_ = json.Unmarshal(host.request(t, "$JS.API.CONSUMER.LIST.S", `{"offset":1}`).Data, &list)
	if len(list.Consumers) != 1 || list.Consumers[0].Name != "B" || list.Offset != 1 {
		t.Fatalf("list %+v", list)
	}
	var info jsapi.ConsumerInfoResponse
	_ = json.Unmarshal(host.request(t, "$JS.API.CONSUMER.INFO.S.A", "").Data, &info)
	if info.ConsumerInfo == nil || info.Config.AckWait != jsapi.DefaultAckWait || info.Config.MaxWaiting != jsapi.DefaultMaxWaiting {
		t.Fatalf("info %+v", info)
	}
	if code := apiError(t, host.request(t, "$JS.API.CONSUMER.INFO.S.Z", "")); code != int(jsapi.ErrCodeConsumerNotFound) {
		t.Fatalf("missing info: %d", code)
	}
	if code := apiError(t, host.request(t, "$JS.API.CONSUMER.INFO.X.A", "")); code != int(jsapi.ErrCodeStreamNotFound) {
		t.Fatalf("missing stream: %d", code)
	}
	if code := apiError(t, host.request(t, "$JS.API.CONSUMER.DELETE.S.A", "")); code != 0 {
		t.Fatalf("delete: %d", code)
	}
	if code := apiError(t, host.request(t, "$JS.API.CONSUMER.DELETE.S.A", "")); code != int(jsapi.ErrCodeConsumerNotFound) {
		t.Fatalf("delete again: %d", code)
	}
	status := host.request(t, "$JS.API.CONSUMER.MSG.NEXT.S.A", `{"batch":1}`)
	if code, _ := header.Status(status.Header); code != 503 {
		t.Fatalf("next on a deleted consumer: %q", status.Header)
	}
}

// TestConsumerAPIPauseUnpinReset proves the pause, unpin and reset answers.
func TestConsumerAPIPauseUnpinReset(t *testing.T) {
	host := newAPIHarness(t)
	body := `{"stream_name":"S","config":{"durable_name":"P","ack_policy":"explicit","priority_policy":"pinned_client","priority_groups":["g"]}}`
	if code := apiError(t, host.request(t, "$JS.API.CONSUMER.DURABLE.CREATE.S.P", body)); code != 0 {
		t.Fatalf("create: %d", code)
	}
	var pause jsapi.ConsumerPauseResponse
	_ = json.Unmarshal(host.request(t, "$JS.API.CONSUMER.PAUSE.S.P", `{"pause_until":"2999-01-01T00:00:00Z"}`).Data, &pause)
	if !pause.Paused || pause.PauseRemaining <= 0 {
		t.Fatalf("pause %+v", pause)
	}
	_ = json.Unmarshal(host.request(t, "$JS.API.CONSUMER.PAUSE.S.P", `{}`).Data, &pause)
	if pause.Paused {
		t.Fatalf("resume %+v", pause)
	}
	if code := apiError(t, host.request(t, "$JS.API.CONSUMER.UNPIN.S.P", `{"group":"g"}`)); code != 0 {
		t.Fatalf("unpin: %d", code)
	}
	if code := apiError(t, host.request(t, "$JS.API.CONSUMER.UNPIN.S.P", `{"group":"other"}`)); code != int(jsapi.ErrCodeConsumerInvalidPriorityGroup) {
		t.Fatalf("unpin unknown group: %d", code)
	}
	if code := apiError(t, host.request(t, "$JS.API.CONSUMER.UNPIN.S.P", `{}`)); code != int(jsapi.ErrCodeInvalidJSON) {
		t.Fatalf("unpin without group: %d", code)
	}
	var reset jsapi.ConsumerResetResponse
	_ = json.Unmarshal(host.request(t, "$JS.API.CONSUMER.RESET.S.P", `{"seq":5}`).Data, &reset)
	if reset.Error != nil || reset.ResetSeq != 5 || reset.ConsumerInfo == nil || reset.Delivered.Stream != 4 {
		t.Fatalf("reset %+v %v", reset, reset.Error)
	}
}
