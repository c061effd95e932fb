package client

// Info is the server's INFO, with the reference server's JSON field names for the
// fields a client connection uses.
type Info struct {
	ID                string   `json:"server_id"`
	Name              string   `json:"server_name"`
	Version           string   `json:"version"`
	Proto             int      `json:"proto"`
	GitCommit         string   `json:"git_commit,omitempty"`
	GoVersion         string   `json:"go"`
	Host              string   `json:"host"`
	Port              int      `json:"port"`
	Headers           bool     `json:"headers"`
	AuthRequired      bool     `json:"auth_required,omitempty"`
	TLSRequired       bool     `json:"tls_required,omitempty"`
	TLSVerify         bool     `json:"tls_verify,omitempty"`
	TLSAvailable      bool     `json:"tls_available,omitempty"`
	MaxPayload        int32    `json:"max_payload"`
	JetStream         bool     `json:"jetstream,omitempty"`
	IP                string   `json:"ip,omitempty"`
	ClientID          uint64   `json:"client_id,omitempty"`
	ClientIP          string   `json:"client_ip,omitempty"`
	Nonce             string   `json:"nonce,omitempty"`
	Cluster           string   `json:"cluster,omitempty"`
	ClusterDynamic    bool     `json:"cluster_dynamic,omitempty"`
	Domain            string   `json:"domain,omitempty"`
	ClientConnectURLs []string `json:"connect_urls,omitempty"`
	WSConnectURLs     []string `json:"ws_connect_urls,omitempty"`
	LameDuckMode      bool     `json:"ldm,omitempty"`
	Compression       string   `json:"compression,omitempty"`
	ConnectInfo       bool     `json:"connect_info,omitempty"`
	RemoteAccount     string   `json:"remote_account,omitempty"`
	IsSystemAccount   bool     `json:"acc_is_sys,omitempty"`
	APILevel          int      `json:"api_lvl,omitempty"`
	XKey              string   `json:"xkey,omitempty"`
}

// ConnectOptions is a client's CONNECT, with the reference server's JSON field names.
// Echo, Verbose and Pedantic default to true when a client sends no CONNECT; a
// decoder that wants the same defaults for absent fields should start from
// DefaultConnectOptions.
type ConnectOptions struct {
	Echo          bool   `json:"echo"`
	Verbose       bool   `json:"verbose"`
	Pedantic      bool   `json:"pedantic"`
	TLSRequired   bool   `json:"tls_required"`
	Nkey          string `json:"nkey,omitempty"`
	JWT           string `json:"jwt,omitempty"`
	Signature     string `json:"sig,omitempty"`
	Token         string `json:"auth_token,omitempty"`
	Username      string `json:"user,omitempty"`
	Password      string `json:"pass,omitempty"`
	Name          string `json:"name"`
	Lang          string `json:"lang"`
	Version       string `json:"version"`
	Protocol      int    `json:"protocol"`
	Account       string `json:"account,omitempty"`
	NewAccount    bool   `json:"new_account,omitempty"`
	Headers       bool   `json:"headers,omitempty"`
	NoResponders  bool   `json:"no_responders,omitempty"`
	RemoteAccount string `json:"remote_account,omitempty"`
	ProxySig      string `json:"proxy_sig,omitempty"`
}

// DefaultConnectOptions returns the options of a connection that has not sent
// CONNECT, as the reference assumes them.
func DefaultConnectOptions() ConnectOptions {
	return ConnectOptions{Echo: true, Verbose: true, Pedantic: true}
}
