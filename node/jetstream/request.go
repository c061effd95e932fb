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
	// uncounted marks an answer the reference sends outside its API response path,
	// which api.total does not count (a found STREAM.MSG.GET message).
	uncounted bool
}

// strict reports whether the request's body decodes strictly (see Config.Lenient).
func (r *Request) strict() bool {
	return r.account == nil || !r.account.manager.config.Lenient
}

// decode decodes the request's body into v (an empty body leaves v as it is) and
// answers a body that does not decode with op's invalid-JSON error, reporting false.
func (r *Request) decode(op jsapi.Op, v any) bool {
	if apiErr := jsapi.DecodeRequestError(r.Data, v, r.strict()); apiErr != nil {
		r.RespondError(op, apiErr)
		return false
	}
	return true
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
	r.Respond(jsapi.ErrorResponse(op, err))
}

// RespondErrorUncounted answers with an error in the op's envelope without counting
// it in api.errors, for the errors the reference sends as ordinary responses (a
// failed STREAM.MSG.DELETE in the store).
func (r *Request) RespondErrorUncounted(op jsapi.Op, err *jsapi.Error) {
	r.Respond(jsapi.ErrorResponse(op, err))
}
