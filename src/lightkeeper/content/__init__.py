"""Content: spaces, saved charts, dashboards, comments, content as code.

Modules: `endpoints` (thin handlers), `spaces`, `charts`, `dashboards`,
`comments`, `as_code` (the rules), `shared` (slugs, attribution, lookups),
`repository` (every query), `schemas` (wire models).

Decisions where the specification is silent:
- Slugs are derived once, at creation, and stay when the item is renamed:
  content as code addresses items by slug. Spaces, charts and dashboards each
  have their own slug namespace per project.
- A space's `access` lists the root space's explicit shares plus, for a
  private root, its creator as admin (the creator cannot be unshared: 400).
- A nested space may be created wherever the caller can see the parent and
  holds `create:Space`; asking for a privacy other than the root's is a 400
  (repeating the root's value is accepted). PATCH `parentSpaceUuid` moves a
  space; it needs manage rights on the space and on the new parent.
- Moving charts/dashboards (PATCH `spaceUuid`) needs `manage:SavedChart` /
  `manage:Dashboard` in both spaces.
- A PATCH that changes nothing writes no version and no audit event.
- History entries carry the snapshot both spread (`name`, `tiles`, …) and
  under `snapshot`, with `updatedByUser` (and Lightdash's `createdBy`).
- Comments: resolving needs `manage:DashboardComments` (authors included, as
  in Lightdash); authors may delete their own; deleting a comment deletes its
  replies; a reply without a tile is on its parent's tile. Comments carry
  their id as `uuid`, `commentUuid` and Lightdash's `commentId`.
- Content as code: the URL's slug wins over the document's; a space named by
  `spaceSlug` that does not exist is created at the root, non-private, by the
  upload right alone (a non-private space hides nothing); an existing space
  or item the caller cannot see is a 403 (never overwritten blindly).
  `create:ContentAsCode` alone gets 403 on any existing slug. Identical
  uploads answer "no changes" and write nothing. Documents carry no tile
  ids: an uploaded tile keeps the id of the tile at the same position.
"""
