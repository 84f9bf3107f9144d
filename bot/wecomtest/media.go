package wecomtest

import (
	"io"
	"net/http"
	"strconv"
)

// Media is a file held by the fake: uploaded by opsbot (media/upload) or
// put there by a test as a file a user sent (AddMedia), for media/get.
type Media struct {
	Name, ContentType string
	Data              []byte
}

// AddMedia makes mediaID downloadable through media/get.
func (s *Server) AddMedia(mediaID string, m Media) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.media == nil {
		s.media = map[string]Media{}
	}
	s.media[mediaID] = m
}

// Uploaded returns what opsbot uploaded under mediaID.
func (s *Server) Uploaded(mediaID string) (Media, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.media[mediaID]
	return m, ok
}

// serveMedia answers media/upload (multipart) and media/get; ok is false
// for other APIs.
func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request, api string, call *Call) bool {
	switch api {
	case "media/upload":
		s.mu.Lock()
		code := s.checkToken(api, call.Token)
		s.mu.Unlock()
		if code != 0 {
			s.finish(w, call, answer{"errcode": code, "errmsg": "access_token invalid or expired"}, nil)
			return true
		}
		f, hdr, err := r.FormFile("media")
		if err != nil {
			s.finish(w, call, answer{"errcode": codeBadParameter, "errmsg": "media missing"}, nil)
			return true
		}
		data, _ := io.ReadAll(f)
		s.mu.Lock()
		s.seq++
		id := "fake-media-" + strconv.Itoa(s.seq)
		if s.media == nil {
			s.media = map[string]Media{}
		}
		s.media[id] = Media{Name: hdr.Filename, ContentType: hdr.Header.Get("Content-Type"), Data: data}
		s.mu.Unlock()
		s.finish(w, call, answer{"errcode": 0, "errmsg": "ok", "type": call.Query.Get("type"), "media_id": id}, nil)
		return true
	case "media/get":
		s.mu.Lock()
		code := s.checkToken(api, call.Token)
		m, found := s.media[call.Query.Get("media_id")]
		f := s.takeFailure(api)
		s.mu.Unlock()
		switch {
		case code != 0:
			s.finish(w, call, answer{"errcode": code, "errmsg": "access_token invalid or expired"}, nil)
		case f != nil && f.status != 0:
			call.HTTPStatus = f.status
			s.record(*call, nil)
			w.WriteHeader(f.status)
		case f != nil:
			s.finish(w, call, answer{"errcode": f.errcode, "errmsg": "injected by wecomtest"}, nil)
		case !found:
			s.finish(w, call, answer{"errcode": 40007, "errmsg": "invalid media_id"}, nil)
		default:
			call.HTTPStatus = http.StatusOK
			s.record(*call, nil)
			w.Header().Set("Content-Type", m.ContentType)
			w.Header().Set("Content-Disposition", `attachment; filename="`+m.Name+`"`)
			w.Write(m.Data)
		}
		return true
	}
	return false
}
