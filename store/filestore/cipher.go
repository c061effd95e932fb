package filestore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/klauspost/compress/s2"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/natsim/natsim/store"
)

// blockCipher is one block's AEAD. Every block has its own key, derived from the
// store key, the stream directory and the block id with HMAC-SHA-256, so a key never
// encrypts two blocks; nonces are random (from Config.Rand) and stored in the record.
type blockCipher struct {
	aead cipher.AEAD
}

// keyCheckPlain is sealed in every block header, so a wrong key fails at open instead of
// at the first read.
var keyCheckPlain = []byte("natsim block key check")

func newBlockCipher(kind Cipher, key []byte, dir string, id uint32) (*blockCipher, error) {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("natsim filestore block key\x00"))
	mac.Write([]byte(dir))
	mac.Write(binary.BigEndian.AppendUint32(nil, id))
	blockKey := mac.Sum(nil)
	var aead cipher.AEAD
	var err error
	switch kind {
	case AES:
		var c cipher.Block
		if c, err = aes.NewCipher(blockKey); err == nil {
			aead, err = cipher.NewGCM(c)
		}
	case ChaCha:
		aead, err = chacha20poly1305.NewX(blockKey)
	default:
		err = fmt.Errorf("%w: unknown cipher %d", ErrConfig, kind)
	}
	if err != nil {
		return nil, err
	}
	return &blockCipher{aead: aead}, nil
}

// seal encrypts plain with a fresh nonce from readRandom (Store.randRead, which
// serializes Config.Rand with the consumer stores' use of it).
func (c *blockCipher) seal(dst, plain, additional []byte, readRandom func([]byte)) []byte {
	nonce := make([]byte, c.aead.NonceSize())
	readRandom(nonce)
	dst = append(dst, nonce...)
	return c.aead.Seal(dst, nonce, plain, additional)
}

func (c *blockCipher) open(sealed, additional []byte) ([]byte, error) {
	n := c.aead.NonceSize()
	if len(sealed) < n+c.aead.Overhead() {
		return nil, errBadRecord
	}
	return c.aead.Open(nil, sealed[:n], sealed[n:], additional)
}

func (c *blockCipher) appendKeyCheck(body []byte, readRandom func([]byte)) []byte {
	return c.seal(body, keyCheckPlain, nil, readRandom)
}

// checkKey verifies the sealed key check of a block header.
func (c *blockCipher) checkKey(sealed []byte) error {
	plain, err := c.open(sealed, nil)
	if err != nil || string(plain) != string(keyCheckPlain) {
		return store.ErrBadKey
	}
	return nil
}

var errNoCipher = errors.New("filestore: encrypted record but no key configured")

// encodePayload compresses and encrypts a plain payload for block b.
func (s *Store) encodePayload(b *block, seq uint64, plain []byte) (byte, []byte, error) {
	var flags byte
	payload := plain
	if s.config.Compression == S2Compression && len(plain) > 32 {
		if compressed := s2.Encode(nil, plain); len(compressed) < len(plain) {
			payload, flags = compressed, flags|flagCompressed
		}
	}
	if b.cipher != nil {
		payload = b.cipher.seal(nil, payload, binary.BigEndian.AppendUint64(nil, seq), s.randRead)
		flags |= flagEncrypted
	}
	return flags, payload, nil
}

// decodePayloadBytes reverses encodePayload.
func (s *Store) decodePayloadBytes(b *block, rec msgRecord) ([]byte, error) {
	payload := rec.payload
	if rec.flags&flagEncrypted != 0 {
		if b.cipher == nil {
			return nil, errNoCipher
		}
		plain, err := b.cipher.open(payload, binary.BigEndian.AppendUint64(nil, rec.seq))
		if err != nil {
			return nil, err
		}
		payload = plain
	}
	if rec.flags&flagCompressed != 0 {
		n, err := s2.DecodedLen(payload)
		if err != nil || n > recordBodyBytesMax {
			return nil, errBadRecord
		}
		return s2.Decode(nil, payload)
	}
	return payload, nil
}
