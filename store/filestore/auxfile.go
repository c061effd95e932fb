package filestore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/natsim/natsim/store"
)

// Auxiliary files (meta.inf, block index files, the TTL file, consumer state) are
// sealed when the store is encrypted, with the store's cipher family. Every write
// draws a random salt; the file's key is HMAC-SHA-256 of the store key over a label,
// the file's name inside the store and the salt, so no two writes share a key and a
// random nonce never repeats under one. The sealed file is framed as a record:
//
//	record( 'E' | salt | nonce | ciphertext and tag )
//
// The outer checksum tells damage (checksum mismatch: corruption) from a wrong key
// (the checksum holds but the tag does not: store.ErrBadKey), so a wrong key fails
// loudly instead of looking like a damaged file.
const (
	auxSealedKind byte = 'E'
	auxSaltBytes       = 16
)

// errAuxDamaged reports an auxiliary file whose framing or checksum is bad.
var errAuxDamaged = fmt.Errorf("%w: file checksum mismatch", store.ErrCorrupt)

func (s *Store) auxRelativeName(name string) string {
	return strings.TrimPrefix(name, s.config.Dir+"/")
}

func (s *Store) auxAEAD(name string, salt []byte) (cipher.AEAD, error) {
	mac := hmac.New(sha256.New, s.config.Key)
	mac.Write([]byte("natsim filestore file key\x00"))
	mac.Write([]byte(s.auxRelativeName(name)))
	mac.Write([]byte{0})
	mac.Write(salt)
	key := mac.Sum(nil)
	switch s.config.Cipher {
	case AES:
		c, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		return cipher.NewGCM(c)
	case ChaCha:
		return chacha20poly1305.NewX(key)
	}
	return nil, fmt.Errorf("%w: unknown cipher %d", ErrConfig, s.config.Cipher)
}

// randRead fills p from Config.Rand, which consumer stores share with the stream.
func (s *Store) randRead(p []byte) {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	_, _ = s.config.Rand.Read(p)
}

// sealAuxFile returns the bytes to store for an auxiliary file: plain as it is
// without a cipher, sealed otherwise.
func (s *Store) sealAuxFile(name string, plain []byte) ([]byte, error) {
	if s.config.Cipher == NoCipher {
		return plain, nil
	}
	salt := make([]byte, auxSaltBytes)
	s.randRead(salt)
	aead, err := s.auxAEAD(name, salt)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	s.randRead(nonce)
	body := make([]byte, 0, 1+len(salt)+len(nonce)+len(plain)+aead.Overhead())
	body = append(body, auxSealedKind)
	body = append(body, salt...)
	body = append(body, nonce...)
	body = aead.Seal(body, nonce, plain, []byte(s.auxRelativeName(name)))
	return appendRecord(nil, body), nil
}

// openAuxFile reverses sealAuxFile. A sealed file read without a key, a plain file
// read with one, or a sealed file whose tag fails under the configured key returns
// store.ErrBadKey; damaged framing returns errAuxDamaged.
func (s *Store) openAuxFile(name string, data []byte) ([]byte, error) {
	body, n, _, err := parseRecord(data)
	sealed := err == nil && n == len(data) && body[0] == auxSealedKind
	if s.config.Cipher == NoCipher {
		if sealed {
			return nil, fmt.Errorf("%w: %s is encrypted and no key is configured", store.ErrBadKey, name)
		}
		return data, nil
	}
	if err != nil || n != len(data) {
		return nil, errAuxDamaged
	}
	if !sealed {
		return nil, fmt.Errorf("%w: %s is not encrypted but a key is configured", store.ErrBadKey, name)
	}
	body = body[1:]
	if len(body) < auxSaltBytes {
		return nil, errAuxDamaged
	}
	aead, err := s.auxAEAD(name, body[:auxSaltBytes])
	if err != nil {
		return nil, err
	}
	body = body[auxSaltBytes:]
	if len(body) < aead.NonceSize()+aead.Overhead() {
		return nil, errAuxDamaged
	}
	plain, err := aead.Open(nil, body[:aead.NonceSize()], body[aead.NonceSize():], []byte(s.auxRelativeName(name)))
	if err != nil {
		return nil, fmt.Errorf("%w: %s does not open with the configured key", store.ErrBadKey, name)
	}
	return plain, nil
}
