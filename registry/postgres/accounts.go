package postgres

import (
	"cmp"
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sanbao/sanbao/registry"
)

const userCols = `username, name, role, center, disabled, hash, created, updated`

func scanUser(row pgx.Row) (registry.User, string, error) {
	var u registry.User
	var role, hash string
	if err := row.Scan(&u.Username, &u.Name, &role, &u.Center, &u.Disabled, &hash, &u.Created, &u.Updated); err != nil {
		return registry.User{}, "", err
	}
	u.Role, u.Created, u.Updated = registry.Role(role), u.Created.UTC(), u.Updated.UTC()
	return u, hash, nil
}

// CreateUser creates a staff account, its password hashed with argon2id.
// Errors: EInvalid naming the field; EConflict when the username is taken;
// EUnavailable.
func (s *Store) CreateUser(a registry.Actor, u registry.User, password string) (registry.User, error) {
	u, hash, err := registry.CheckNewUser(u, password)
	if err != nil {
		return registry.User{}, err
	}
	now := s.now()
	u.Created, u.Updated = now, now
	err = s.write(func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, false, $5, $6, $6) ON CONFLICT DO NOTHING`,
			u.Username, u.Name, string(u.Role), u.Center, hash, now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return registry.UserExists(u.Username)
		}
		return s.audit(ctx, tx, a, registry.AuditLine{Action: "user.create", Target: u.Username, Detail: string(u.Role) + " user " + cmp.Or(u.Name, u.Username)}, now)
	})
	if err != nil {
		return registry.User{}, err
	}
	return u, nil
}

// Users lists every user, disabled ones included, by username.
// Errors: EUnavailable; internal ones.
func (s *Store) Users() ([]registry.User, error) {
	out := []registry.User{}
	err := s.read(func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, `SELECT `+userCols+` FROM users ORDER BY username`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			u, _, err := scanUser(rows)
			if err != nil {
				return err
			}
			out = append(out, u)
		}
		return rows.Err()
	})
	return out, err
}

// User returns one user. Errors: ENotFound; EUnavailable.
func (s *Store) User(username string) (registry.User, error) {
	username = registry.Username(username)
	var u registry.User
	err := s.read(func(ctx context.Context) error {
		var err error
		u, _, err = scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE username = $1`, username))
		if errors.Is(err, pgx.ErrNoRows) {
			return registry.NoUser(username)
		}
		return err
	})
	return u, err
}

// UpdateUser changes a user (registry.ApplyUserPatch). The active admin
// users are locked while counting, so two changes racing never leave none;
// disabling a user or setting a password ends their sessions in the same
// transaction. Errors: as registry.UserStore.UpdateUser.
func (s *Store) UpdateUser(a registry.Actor, username string, p registry.UserPatch) (registry.User, error) {
	username = registry.Username(username)
	var hash string
	if p.Password != nil {
		var err error
		if hash, err = registry.HashNewPassword(*p.Password); err != nil { // outside the transaction: 30 ms of CPU
			return registry.User{}, err
		}
	}
	var out registry.User
	err := s.write(func(ctx context.Context, tx pgx.Tx) error {
		now := s.now()
		old, _, err := scanUser(tx.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE username = $1 FOR UPDATE`, username))
		if errors.Is(err, pgx.ErrNoRows) {
			return registry.NoUser(username)
		} else if err != nil {
			return err
		}
		u, changes, endSessions, err := registry.ApplyUserPatch(old, p, hash != "")
		if err != nil {
			return err
		}
		if old.Role == registry.RoleAdmin && !old.Disabled && (u.Role != registry.RoleAdmin || u.Disabled) {
			var admins int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM users WHERE role = 'admin' AND NOT disabled FOR UPDATE) x`).Scan(&admins); err != nil {
				return err
			}
			if admins <= 1 {
				return registry.LastAdminUser(username)
			}
		}
		u.Updated = now
		if _, err := tx.Exec(ctx, `UPDATE users SET name = $2, role = $3, center = $4, disabled = $5, hash = coalesce(nullif($6, ''), hash), updated = $7 WHERE username = $1`,
			username, u.Name, string(u.Role), u.Center, u.Disabled, hash, now); err != nil {
			return err
		}
		if endSessions {
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE owner = $1`, registry.UserSessions(username)); err != nil {
				return err
			}
		}
		out = u
		return s.audit(ctx, tx, a, registry.AuditLine{Action: "user.update", Target: username, Detail: strings.Join(changes, ", ")}, now)
	})
	return out, err
}

// CheckPassword returns the user when password is theirs and the account
// is enabled; an unknown user costs a hash too. Errors: EUnauthorized
// "wrong username or password"; EUnavailable.
func (s *Store) CheckPassword(username, password string) (registry.User, error) {
	username = registry.Username(username)
	var u registry.User
	var hash string
	found := false
	if username != "" && len(username) <= registry.MaxUsername {
		err := s.read(func(ctx context.Context) error {
			var err error
			u, hash, err = scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE username = $1`, username))
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			found = err == nil
			return err
		})
		if err != nil {
			return registry.User{}, err
		}
	}
	return registry.VerifyPassword(u, hash, found, password)
}

// Record writes an audit entry of something done outside the registry's
// own writes (a console sign-in). Errors: EUnavailable.
func (s *Store) Record(a registry.Actor, action, target, detail string) error {
	return s.write(func(ctx context.Context, tx pgx.Tx) error {
		return s.audit(ctx, tx, a, registry.AuditLine{Action: action, Target: target, Detail: detail}, s.now())
	})
}

const sessionCols = `username, key_id, csrf, created, expires, flash, center`

func scanSession(row pgx.Row, id string) (registry.Session, error) {
	x := registry.Session{ID: id}
	if err := row.Scan(&x.Username, &x.KeyID, &x.CSRF, &x.Created, &x.Expires, &x.Flash, &x.Center); err != nil {
		return registry.Session{}, err
	}
	x.Created, x.Expires = x.Created.UTC(), x.Expires.UTC()
	return x, nil
}

// CreateSession starts a console session (registry.NewSession); the
// owner's expired sessions go and, past registry.MaxSessionsPerOwner, the
// oldest ends. Errors: EInvalid without an owner or expiry; EUnavailable.
func (s *Store) CreateSession(in registry.Session) (registry.Session, error) {
	sess, hash, err := registry.NewSession(in, s.now())
	if err != nil {
		return registry.Session{}, err
	}
	owner := registry.SessionOwner(sess)
	err = s.write(func(ctx context.Context, tx pgx.Tx) error {
		// The owner's sessions are counted under a lock of their own, so
		// two sign-ins racing never leave more than the bound.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, owner); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE owner = $1 AND expires <= $2`, owner, sess.Created); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE hash IN (SELECT hash FROM sessions WHERE owner = $1
			ORDER BY created DESC, hash OFFSET $2)`, owner, registry.MaxSessionsPerOwner-1); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO sessions (hash, owner, `+sessionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, '', $8)`,
			hash, owner, sess.Username, sess.KeyID, sess.CSRF, sess.Created, sess.Expires, sess.Center)
		return err
	})
	if err != nil {
		return registry.Session{}, err
	}
	return sess, nil
}

// Session returns the live session with id. Errors: ENotFound when there
// is none or it has expired; EUnavailable.
func (s *Store) Session(id string) (registry.Session, error) {
	var sess registry.Session
	err := s.read(func(ctx context.Context) error {
		var err error
		sess, err = scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE hash = $1`, registry.SessionHash(id)), id)
		if errors.Is(err, pgx.ErrNoRows) {
			return registry.NoSession()
		}
		return err
	})
	if err != nil {
		return registry.Session{}, err
	}
	if !s.now().Before(sess.Expires) {
		return registry.Session{}, registry.NoSession()
	}
	return sess, nil
}

// EndSession ends a session; an unknown one is already ended.
// Errors: EUnavailable.
func (s *Store) EndSession(id string) error {
	return s.write(func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE hash = $1`, registry.SessionHash(id))
		return err
	})
}

// UpdateSession changes a live session's flash message and centre through
// f (its owner, token and times stay). Errors: ENotFound; EUnavailable.
func (s *Store) UpdateSession(id string, f func(*registry.Session)) error {
	return s.write(func(ctx context.Context, tx pgx.Tx) error {
		sess, err := scanSession(tx.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE hash = $1 FOR UPDATE`, registry.SessionHash(id)), id)
		if errors.Is(err, pgx.ErrNoRows) {
			return registry.NoSession()
		} else if err != nil {
			return err
		}
		f(&sess)
		_, err = tx.Exec(ctx, `UPDATE sessions SET flash = $2, center = $3 WHERE hash = $1`, registry.SessionHash(id), sess.Flash, sess.Center)
		return err
	})
}
