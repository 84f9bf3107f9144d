package aibot

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// mediaPadBlock is the PKCS#7 block WeCom pads media to: 32 bytes, not
// AES's 16, so pad values run from 1 to 32.
const mediaPadBlock = 32

// DecryptMedia decrypts a downloaded image or file of a callback with its
// aeskey: the key is base64 (padding optional) of 32 bytes, the cipher is
// AES-256-CBC with the first 16 key bytes as IV, and the plaintext is
// PKCS#7-padded to a multiple of 32 bytes (WeCom document 101463,
// "多媒体资源解密").
func DecryptMedia(data []byte, aesKey string) ([]byte, error) {
	key, err := mediaKey(aesKey)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 || len(data)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("aibot: decrypt media: %d bytes is not a whole number of blocks", len(data))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aibot: decrypt media: %w", err)
	}
	out := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, key[:aes.BlockSize]).CryptBlocks(out, data)
	pad := int(out[len(out)-1])
	if pad < 1 || pad > mediaPadBlock || pad > len(out) {
		return nil, errors.New("aibot: decrypt media: bad padding (wrong key?)")
	}
	for _, b := range out[len(out)-pad:] {
		if int(b) != pad {
			return nil, errors.New("aibot: decrypt media: bad padding (wrong key?)")
		}
	}
	return out[:len(out)-pad], nil
}

func mediaKey(aesKey string) ([]byte, error) {
	s := strings.TrimRight(strings.TrimSpace(aesKey), "=")
	key, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("aibot: decrypt media: aeskey is not base64: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("aibot: decrypt media: aeskey is %d bytes, want 32", len(key))
	}
	return key, nil
}
