package jsapi_test

import (
	"fmt"

	"github.com/natsim/natsim/proto/jsapi"
)

// A request handler's path through the package: route by subject, decode strictly,
// check the configuration, answer with a typed response or the reference's error.
func Example() {
	op, args, ok := jsapi.ParseSubject("$JS.API.STREAM.CREATE.ORDERS")
	fmt.Println(op, args.Stream, ok)

	var request jsapi.StreamConfigRequest
	body := []byte(`{"name":"ORDERS","subjects":["orders.*","orders.eu"],"retention":"workqueue"}`)
	if err := jsapi.DecodeRequestError(body, &request, true); err != nil {
		fmt.Println(string(jsapi.MarshalResponse(jsapi.Response{Type: op.ResponseType(), Error: err})))
		return
	}
	_, err := jsapi.CheckStreamConfig(&request.StreamConfig, jsapi.StreamCheckOptions{Pedantic: request.Pedantic})
	fmt.Println(string(jsapi.MarshalResponse(jsapi.StreamCreateResponse{Response: jsapi.Response{Type: op.ResponseType(), Error: err}})))
	// Output:
	// STREAM.CREATE ORDERS true
	// {"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":500,"err_code":10052,"description":"subject \"orders.*\" overlaps with \"orders.eu\""}}
}

// Ack reply subjects carry a delivered message's position.
func ExampleParseAckReply() {
	reply, ok := jsapi.ParseAckReply("$JS.ACK.ORDERS.worker.1.42.17.1700000000000000000.5")
	fmt.Println(ok, reply.Stream, reply.Consumer, reply.StreamSeq, reply.ConsumerSeq, reply.Pending)
	// Output: true ORDERS worker 42 17 5
}
