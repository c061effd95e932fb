package jsapi

import "testing"

// BenchmarkParseSubject measures routing a consumer request, the deepest common form.
func BenchmarkParseSubject(b *testing.B) {
	for b.Loop() {
		ParseSubject("$JS.API.CONSUMER.MSG.NEXT.ORDERS.worker")
	}
}

// BenchmarkParseAckReply measures decoding an ack subject, once per acked message.
func BenchmarkParseAckReply(b *testing.B) {
	subject := "$JS.ACK._.AbCdEfGh.ORDERS.worker.1.42.17.1700000000000000000.5"
	for b.Loop() {
		ParseAckReply(subject)
	}
}

// BenchmarkAppendAckReply measures encoding an ack subject, once per delivery.
func BenchmarkAppendAckReply(b *testing.B) {
	reply := AckReply{Stream: "ORDERS", Consumer: "worker", Delivered: 1, StreamSeq: 42, ConsumerSeq: 17,
		Timestamp: 1700000000000000000, Pending: 5, Version2: true, AccountHash: "AbCdEfGh"}
	buffer := make([]byte, 0, 128)
	for b.Loop() {
		buffer = reply.AppendTo(buffer[:0])
	}
}
