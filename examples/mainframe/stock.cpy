      *****************************************************************
      * STOCK-RECORD: nightly stock extract from the warehouse system.
      * RECFM=FB, LRECL=80, code page 037 (US/Canada EBCDIC).
      *****************************************************************
       01  STOCK-RECORD.
           05  REC-TYPE                PIC X.
               88  STOCK-LINE          VALUE 'S'.
               88  TRAILER-LINE        VALUE 'T'.
           05  REC-BODY.
               10  ITEM-NO             PIC X(10).
               10  DESCRIPTION         PIC X(24).
               10  WAREHOUSE           PIC X(3).
               10  QTY-ON-HAND         PIC S9(7)     COMP-3.
               10  UNIT-PRICE          PIC S9(5)V99  COMP-3.
               10  REORDER-LEVEL       PIC 9(5)      COMP.
               10  LAST-COUNT-DATE     PIC 9(8).
               10  STATUS-CODE         PIC X.
                   88  ACTIVE          VALUE 'A'.
                   88  DISCONTINUED    VALUE 'D'.
               10  FILLER              PIC X(21).
           05  TRAILER-BODY REDEFINES REC-BODY.
               10  RECORD-COUNT        PIC 9(9).
               10  FILLER              PIC X(70).
