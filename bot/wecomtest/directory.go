package wecomtest

import (
	"net/url"
	"slices"
	"sort"
	"strconv"
)

// directory answers the address-book lists (department/list, user/list,
// user/simplelist) from the users and departments registered with AddUser
// and AddDepartment. Like WeCom for a self-built app created after June
// 2022, user/list returns no mobile, email or gender. It runs with mu held.
func (s *Server) directory(api string, q url.Values) (answer, bool) {
	switch api {
	case "department/list":
		ids := make([]int, 0, len(s.depts))
		for id := range s.depts {
			ids = append(ids, id)
		}
		sort.Ints(ids)
		list := make([]answer, 0, len(ids))
		for _, id := range ids {
			parent := 1
			if id == 1 {
				parent = 0
			}
			list = append(list, answer{"id": id, "name": s.depts[id], "parentid": parent})
		}
		return answer{"errcode": 0, "errmsg": "ok", "department": list}, true

	case "user/list", "user/simplelist":
		dept, err := strconv.Atoi(q.Get("department_id"))
		if _, ok := s.depts[dept]; err != nil || !ok {
			return answer{"errcode": codeBadDepartment, "errmsg": "invalid party id"}, true
		}
		ids := make([]string, 0, len(s.users))
		for id, u := range s.users {
			if slices.Contains(u.depts, dept) || (u.depts == nil && dept == 1) {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
		list := make([]answer, 0, len(ids))
		for _, id := range ids {
			u := s.users[id]
			depts := u.depts
			if depts == nil {
				depts = []int{1}
			}
			m := answer{"userid": id, "name": u.name, "department": depts}
			if api == "user/list" {
				m["status"] = 1
				m["position"] = ""
			}
			list = append(list, m)
		}
		return answer{"errcode": 0, "errmsg": "ok", "userlist": list}, true
	}
	return nil, false
}
