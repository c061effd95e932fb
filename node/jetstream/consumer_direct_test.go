package jetstream_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// apiRequest sends a raw JetStream API request and decodes the response into out.
func apiRequest(t *testing.T, nc *nats.Conn, subject, body string, out any) {
	t.Helper()
	msg, err := nc.Request(subject, []byte(body), 5*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	if err := json.Unmarshal(msg.Data, out); err != nil {
		t.Fatalf("%s: %v in %q", subject, err, msg.Data)
	}
}

type apiAnswer struct {
	Error *struct {
		ErrCode int `json:"err_code"`
	} `json:"error"`
	Name      string   `json:"name"`
	Consumers []string `json:"consumers"`
	Total     int      `json:"total"`
}

func (a apiAnswer) errCode() int {
	if a.Error == nil {
		return 0
	}
	return a.Error.ErrCode
}

// TestIntegrationDirectConsumers proves a consumer created with "direct": true (what
// mirrors and sources ask their origins for) is handled as the reference handles it:
// it does not count against max_consumers nor in consumer_count, CONSUMER.NAMES and
// CONSUMER.LIST leave it out while CONSUMER.INFO finds it, and it is not kept across
// a restart while a durable consumer is.
func TestIntegrationDirectConsumers(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	nc, js := connectJetStream(t, s)
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}, MaxConsumers: 1}); err != nil {
		t.Fatal(err)
	}
	var answer apiAnswer
	apiRequest(t, nc, "$JS.API.CONSUMER.CREATE.S.DIR", `{"stream_name":"S","config":{"name":"DIR","deliver_subject":"dd","direct":true,"ack_policy":"none"}}`, &answer)
	if answer.errCode() != 0 || answer.Name != "DIR" {
		t.Fatalf("direct create: %+v", answer)
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, "S", jetstream.ConsumerConfig{Durable: "D", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatalf("durable next to a direct consumer with max_consumers 1: %v", err)
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, "S", jetstream.ConsumerConfig{Durable: "D2", AckPolicy: jetstream.AckExplicitPolicy}); err == nil {
		t.Fatal("max_consumers not enforced")
	}
	answer = apiAnswer{}
	apiRequest(t, nc, "$JS.API.CONSUMER.NAMES.S", "", &answer)
	if !slices.Equal(answer.Consumers, []string{"D"}) || answer.Total != 1 {
		t.Fatalf("names %+v", answer)
	}
	var list struct {
		Consumers []struct {
			Name string `json:"name"`
		} `json:"consumers"`
	}
	apiRequest(t, nc, "$JS.API.CONSUMER.LIST.S", "", &list)
	if len(list.Consumers) != 1 || list.Consumers[0].Name != "D" {
		t.Fatalf("list %+v", list)
	}
	answer = apiAnswer{}
	apiRequest(t, nc, "$JS.API.CONSUMER.INFO.S.DIR", "", &answer)
	if answer.errCode() != 0 || answer.Name != "DIR" {
		t.Fatalf("direct info %+v", answer)
	}
	stream, err := js.Stream(ctx, "S")
	if err != nil {
		t.Fatal(err)
	}
	if info, err := stream.Info(ctx); err != nil || info.State.Consumers != 1 {
		t.Fatalf("consumer_count %+v %v", info, err)
	}
	nc.Close()
	s.Shutdown()
	<-s.ShutdownDone()

	s = startServer(t, dir)
	nc, js = connectJetStream(t, s)
	if _, err := js.Consumer(ctx, "S", "D"); err != nil {
		t.Fatalf("durable after restart: %v", err)
	}
	answer = apiAnswer{}
	apiRequest(t, nc, "$JS.API.CONSUMER.INFO.S.DIR", "", &answer)
	if answer.errCode() != 10014 {
		t.Fatalf("direct consumer after restart: %+v", answer)
	}
}

// TestIntegrationSourcingConsumerLimits proves the durable consumer an interest
// stream makes for a source is listed and counted in consumer_count but, as in the
// reference, does not count against max_consumers.
func TestIntegrationSourcingConsumerLimits(t *testing.T) {
	s := startServer(t, t.TempDir())
	_, js := connectJetStream(t, s)
	ctx := testContext(t)
	origin, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "I", Subjects: []string{"i.>"}, Retention: jetstream.InterestPolicy, MaxConsumers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Sources: []*jetstream.StreamSource{{Name: "I"}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() error {
		info, err := origin.Info(ctx)
		if err != nil {
			return err
		}
		if info.State.Consumers != 1 {
			return fmt.Errorf("consumer_count %d", info.State.Consumers)
		}
		return nil
	})
	if _, err := js.CreateOrUpdateConsumer(ctx, "I", jetstream.ConsumerConfig{Durable: "D", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatalf("durable next to a sourcing consumer with max_consumers 1: %v", err)
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, "I", jetstream.ConsumerConfig{Durable: "D2", AckPolicy: jetstream.AckExplicitPolicy}); err == nil {
		t.Fatal("max_consumers not enforced")
	}
}
