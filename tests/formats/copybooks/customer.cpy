      * Test copybook: every supported clause, offsets computed by hand.
       01  CUSTOMER-RECORD.
           05  REC-TYPE                PIC X.
               88  IS-PERSON           VALUE 'P'.
               88  IS-COMPANY          VALUE 'C'.
           05  CUST-ID                 PIC 9(6).
           05  CUST-NAME               PIC X(20).
           05  BALANCE                 PIC S9(7)V99 COMP-3.
           05  CREDIT-LIMIT            PIC S9(5)V99.
           05  LEAD-AMT                PIC S9(3) SIGN LEADING.
           05  SEP-TRAIL       PIC S9(3)V9 SIGN TRAILING SEPARATE.
           05  SEP-LEAD        PIC S9(3)
                               SIGN IS LEADING SEPARATE CHARACTER.
           05  VISITS                  PIC S9(4) COMP.
           05  BIG-COUNT               PIC 9(9) BINARY.
           05  HUGE                    PIC S9(18) COMP-4.
           05  NATIVE                  PIC S9(4) COMP-5.
           05  STATUS-CODE             PIC 99.
               88  ACTIVE              VALUE 1 THRU 5.
               88  CLOSED              VALUES 90, 99.
           05  FILLER                  PIC X(3).
           05  DETAIL-AREA.
               10  PERSON-DETAIL.
                   15  BIRTH-DATE      PIC 9(8).
                   15  GENDER          PIC X.
               10  COMPANY-DETAIL REDEFINES PERSON-DETAIL.
                   15  VAT-NO          PIC X(7).
                   15  EMPLOYEES       PIC 9(5) COMP-3.
           05  PHONES OCCURS 2 TIMES.
               10  PHONE-TYPE          PIC X.
               10  PHONE-NO            PIC X(10).
           05  ORDER-COUNT             PIC 9(2).
           05  ORDERS OCCURS 0 TO 5 TIMES DEPENDING ON ORDER-COUNT
                      INDEXED BY ORD-IX.
               10  ORDER-NO            PIC X(4).
               10  ORDER-AMT   PIC S9(5)V99 USAGE IS PACKED-DECIMAL.
