/// Files attached to items. Seeded items have none; a file attached or removed through the
/// control API moves the item's `file_count` and `last_event_on`, never its revision (as in
/// Podio, reference §12).
struct SimFile: Sendable {
    var id: Int
    var name: String
    var mimetype: String
    var size: Int
    var createdOn: Int
    /// "podio", or the service a linked file lives on (e.g. "google").
    var hostedBy = "podio"
    var deleted = false
}

extension SimulatorState {
    /// Where a file's bytes are: files.podio.com, or the service hosting it.
    static func fileLink(_ file: SimFile) -> String {
        file.hostedBy == "podio"
            ? "https://files.podio.com/\(file.id)" : "https://\(file.hostedBy).example.com/files/\(file.id)"
    }

    /// A file in Podio's shape (podio-php `PodioFile`, podio-rb `FileAttachment`).
    func fileJSON(_ file: SimFile) -> JSON {
        .obj([
            "file_id": .int(file.id),
            "link": .string(Self.fileLink(file)),
            "perma_link": .string("https://podio.com/files/\(file.id)"),
            "thumbnail_link": .string("https://files.podio.com/\(file.id)/thumb"),
            "hosted_by": .string(file.hostedBy),
            "name": .string(file.name),
            "description": .null,
            "mimetype": .string(file.mimetype),
            "size": .int(file.size),
            "created_on": .string(PodioTime.format(file.createdOn)),
            "created_by": SeedData.userByline,
            "created_via": SeedData.createdVia,
            "rights": .array(["view", "download", "delete"].map(JSON.string)),
        ])
    }

    func liveFilesJSON(_ item: SimItem) -> [JSON] {
        item.files.filter { !$0.deleted }.map(fileJSON)
    }

    /// A file attached to a live item, with the item's app index.
    func attachedFile(_ fileID: Int) -> (app: Int, file: SimFile)? {
        for appIdx in apps.indices {
            for item in apps[appIdx].items where !item.files.isEmpty && !item.deleted {
                if let file = item.files.first(where: { $0.id == fileID && !$0.deleted }) { return (appIdx, file) }
            }
        }
        return nil
    }

    /// A file's content: `size` bytes, the same for the same file every time.
    static func fileBytes(_ file: SimFile) -> [UInt8] {
        (0..<file.size).map { UInt8(truncatingIfNeeded: ($0 &* 31) ^ file.id) }
    }

    /// Attaches a file: file_count += 1 and last_event_on = now, without a new revision.
    mutating func attachFile(
        itemID: Int, name: String, mimetype: String, size: Int, hostedBy: String = "podio", now: Int
    ) throws(ControlError) -> Int {
        let location = try liveItem(itemID)
        guard !name.isEmpty, size >= 0 else { throw .invalid("a file needs a name and a size of 0 or more") }
        let id = nextFileID
        nextFileID += 1
        var item = apps[location.app].items[location.item]
        guard !hostedBy.isEmpty else { throw .invalid("hosted_by must not be empty") }
        item.files.append(
            SimFile(id: id, name: name, mimetype: mimetype, size: size, createdOn: now, hostedBy: hostedBy))
        item.lastEventOn = max(now, item.lastEventOn)
        apps[location.app].items[location.item] = item
        fireFileChange(appIdx: location.app, itemID: itemID, action: "file_created", fileID: id)
        return id
    }

    /// Removes a file from its item: file_count -= 1, last_event_on = now, no new revision.
    mutating func removeFile(fileID: Int, now: Int) throws(ControlError) {
        for appIdx in apps.indices {
            for itemIdx in apps[appIdx].items.indices where !apps[appIdx].items[itemIdx].files.isEmpty {
                guard
                    let index = apps[appIdx].items[itemIdx].files.firstIndex(where: { $0.id == fileID && !$0.deleted }),
                    !apps[appIdx].items[itemIdx].deleted
                else { continue }
                apps[appIdx].items[itemIdx].files[index].deleted = true
                apps[appIdx].items[itemIdx].lastEventOn = max(now, apps[appIdx].items[itemIdx].lastEventOn)
                fireFileChange(
                    appIdx: appIdx, itemID: apps[appIdx].items[itemIdx].itemID, action: "file_deleted", fileID: fileID)
                return
            }
        }
        throw .invalid("no file \(fileID)")
    }
}
