import IbexCore
import Testing

@Suite("Control connection slots")
struct ControlSlotsTests {
  let slots = ControlSlots(maximum: 4, readerMaximum: 2)

  func occupant(_ key: UInt64, reader: Bool, at seconds: Int64) -> ControlSlots.Occupant {
    ControlSlots.Occupant(key: key, readOnly: reader, lastActive: Instant(nanoseconds: seconds * 1_000_000_000))
  }

  @Test("room: everyone is admitted; readers up to their share")
  func room() {
    #expect(slots.admit(owner: true, occupants: []) == .admit)
    #expect(slots.admit(owner: false, occupants: [occupant(1, reader: true, at: 1)]) == .admit)
    #expect(slots.admit(owner: true, occupants: [occupant(1, reader: true, at: 1), occupant(2, reader: true, at: 2)]) == .admit)
  }

  @Test("readers holding every slot do not lock out an owner: the reader idle longest makes room")
  func ownerDisplacesReader() {
    let readers = [occupant(1, reader: true, at: 5), occupant(2, reader: true, at: 3), occupant(3, reader: false, at: 1), occupant(4, reader: false, at: 2)]
    #expect(slots.admit(owner: true, occupants: readers) == .admitClosing(2))
  }

  @Test("a reader over the readers' share displaces a reader, never an owner")
  func readerShare() {
    let two = [occupant(1, reader: true, at: 5), occupant(2, reader: true, at: 3)]
    #expect(slots.admit(owner: false, occupants: two) == .admitClosing(2))
    let owners = [occupant(1, reader: false, at: 1), occupant(2, reader: false, at: 2), occupant(3, reader: false, at: 3), occupant(4, reader: false, at: 4)]
    #expect(slots.admit(owner: false, occupants: owners) == .refuse)
  }

  @Test("owners only: the owner idle longest makes room for another owner")
  func ownersOnly() {
    let owners = [occupant(7, reader: false, at: 9), occupant(8, reader: false, at: 4), occupant(9, reader: false, at: 6), occupant(10, reader: false, at: 8)]
    #expect(slots.admit(owner: true, occupants: owners) == .admitClosing(8))
  }
}
