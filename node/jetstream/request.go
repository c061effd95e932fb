package jetstream

import (
	"errors"

	"github.com/natsim/natsim/proto/jsapi"
)

// errConsumersUnavailable answers consumer requests before the consumer side exists.
var errConsumersUnavailable = errors.New("consumers are not available")

// Request is one API request: the message as received and where to answer.
type Request struct {
	Subject string
	Reply   string
	Header  []byte
	Data    []byte

	account *Account
}

// Respond sends response (a jsapi response value) to the request's reply subject,
// in the request's account. A request without a reply gets no response.
func (r *Request) Respond(response any) {
	if r.Reply == "" || r.account == nil {
		return
	}
	r.account.manager.host.Publish(r.account.name, r.Reply, "", nil, jsapi.MarshalResponse(response))
}

// RespondError answers with an error in the op's response envelope, and counts it.
func (r *Request) RespondError(op jsapi.Op, err *jsapi.Error) {
	if r.account != nil {
		r.account.apiErrors.Add(1)
	}
	r.Respond(&jsapi.Response{Type: op.ResponseType(), Error: err})
}
