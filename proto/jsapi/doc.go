// Package jsapi is the JetStream API surface as data: the request subjects
// ($JS.API.*) and their parser, ack reply subjects, advisory subjects, the request and
// response types with the reference server's JSON names, the enumerations with their
// JSON strings, the reference's table of API errors (numeric err_code, HTTP-like code,
// description template), JetStream header names and status lines, and the checks and
// defaults the reference applies to stream and consumer configurations.
//
// It is pure: it imports the standard library and ds/subject only, holds no state
// beyond constant tables, and never reads a clock (callers pass times in). The
// JetStream server in node/ builds on it; nothing here knows about connections,
// accounts or storage.
package jsapi
