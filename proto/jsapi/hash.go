package jsapi

import "crypto/sha256"

// hashDigits are the characters of a name hash (base 62).
const hashDigits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// hashBytes is the length of Hash's result.
const hashBytes = 8

// Hash returns the reference's 8-character name hash: the first eight bytes of the
// name's SHA-256, each mapped to a base-62 digit. The account hash token of a version 2
// ack subject and a source's index name use it.
func Hash(name string) string {
	sum := sha256.Sum256([]byte(name))
	var out [hashBytes]byte
	for i := range out {
		out[i] = hashDigits[int(sum[i]%62)]
	}
	return string(out[:])
}
