package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"gorm.io/gorm"
)

// File kinds.
const (
	FileAttachment = "attachment" // a screenshot or file a user sent
	FileReport     = "report"     // a monthly or annual report
	FileDocument   = "document"   // an incident report, a change request form
)

// File is a stored file. Data holds the bytes when the database is the
// store; StoreKey names the object when a bucket is.
type File struct {
	ID         int64 `gorm:"primaryKey"`
	Name       string
	Mime       string
	Size       int64
	SHA256     string `gorm:"column:sha256"`
	Data       []byte
	StoreKey   string
	Kind       string
	TicketID   *int64
	UploadedBy string
	CreatedAt  time.Time
}

// TableName is the files table.
func (File) TableName() string { return "files" }

// SaveFile stores f (its Data, or its StoreKey when the bytes live in a
// bucket) and sets its id, size and checksum.
func (tx *Tx) SaveFile(f *File) error {
	if f.Size == 0 {
		f.Size = int64(len(f.Data))
	}
	if f.SHA256 == "" && f.Data != nil {
		sum := sha256.Sum256(f.Data)
		f.SHA256 = hex.EncodeToString(sum[:])
	}
	f.Name = shorten(f.Name, 200)
	f.CreatedAt = tx.now
	f.ID = 0
	return wrap("save file", tx.db.Create(f).Error)
}

// File reads one stored file with its bytes.
func (s *Store) File(ctx context.Context, id int64) (*File, error) {
	var f File
	err := s.db.WithContext(ctx).Take(&f, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENotFound, "未找到文件 %d", id)
	}
	return &f, wrap("file", err)
}

// FilesOf lists a ticket's files without their bytes, oldest first.
func (tx *Tx) FilesOf(ticketID int64) ([]File, error) {
	var out []File
	err := tx.db.Omit("data").Where("ticket_id = ?", ticketID).Order("id").Find(&out).Error
	return out, wrap("files of ticket", err)
}
